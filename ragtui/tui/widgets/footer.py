"""Textual's footer, filled in without waiting a frame and rebuilt only when its keys change."""
from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """The stock footer starts empty and fills in only after the next refresh, and rebuilds
    all its keys (~30 ms) whenever bindings *may* have changed: each focus move, screen
    resume and terminal focus-in. At start-up that made three rebuilds, and the first
    frame had no keys.
    """

    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_later(self.recompose)

    def _keys_shown(self) -> tuple:
        bindings = tuple(
            (binding.key, binding.description, enabled, tooltip)
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        return bindings, self.show_command_palette, self.compact

    async def recompose(self) -> None:
        keys = self._keys_shown()
        if keys != self._shown:
            self._shown = keys
            await super().recompose()
