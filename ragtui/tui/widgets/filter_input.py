"""A one-line filter box whose editing keys act in the order they were typed."""
from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import Input

# Input's own keys (ctrl+u, backspace, ←, …) -> its action for them.
EDIT_KEYS = {key.strip(): binding.action
             for binding in Input.BINDINGS if isinstance(binding, Binding)
             for key in binding.key.split(",")}


class FilterInput(Input):
    """Textual's Input runs its key bindings only once the key has bubbled up to the app,
    while the characters typed after it are inserted as they come: keys that arrive
    together (a fast typist, tmux send-keys) came out of order — ctrl+u then "abc" left
    the box empty, "ab", backspace, "c" gave "ab". Here the box's own keys act at once.
    """

    async def _on_key(self, event: events.Key) -> None:
        action = EDIT_KEYS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        await self.run_action(action)
