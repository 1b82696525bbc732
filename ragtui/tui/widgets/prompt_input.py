"""The question box: Enter sends, ctrl+j (or shift+enter) adds a line, up/down recall."""
from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from ...safe_text import clean
from ..terminal import paste_text

# Terminals send \n for ctrl+j, in tmux too; shift+enter only arrives under the kitty
# protocol. alt+enter is not offered: tmux sends it as Esc then Enter, which sends.
NEWLINE_KEYS = ("ctrl+j", "shift+enter")


class PromptInput(TextArea):
    """A multi-line input whose Enter submits instead of breaking the line."""

    BINDINGS = [
        Binding("enter", "submit", "Send", key_display="⏎"),
        Binding("ctrl+j,shift+enter", "newline", "New line", key_display="^j"),
        Binding("up", "cursor_up", "Earlier input", show=False),
        Binding("down", "cursor_down", "Later input", show=False),
    ]

    class Submitted(Message):
        def __init__(self, prompt_input: PromptInput, text: str) -> None:
            super().__init__()
            self.prompt_input = prompt_input
            self.text = text

    def __init__(self, **kwargs) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)
        self._inputs: list[str] = []
        self._recall_index: int | None = None  # position in _inputs while recalling
        self._draft = ""  # what was typed before recalling started

    @property
    def earlier_inputs(self) -> list[str]:
        return list(self._inputs)

    async def _on_key(self, event: events.Key) -> None:
        # TextArea inserts a newline for "enter" in _on_key, before bindings run.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        await super()._on_key(event)

    async def _on_paste(self, event: events.Paste) -> None:
        """Paste the text without terminal escapes or control characters (lines and tabs stay)."""
        event.prevent_default()
        if not self.read_only and (result := self._replace_via_keyboard(paste_text(event.text), *self.selection)):
            self.move_cursor(result.end_location)
            self.focus()

    def action_submit(self) -> None:
        text = clean(self.text).strip()
        if not text:
            return
        if not self._inputs or self._inputs[-1] != text:
            self._inputs.append(text)
        self._recall_index = None
        self._draft = ""
        self.clear()
        self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_cursor_up(self, select: bool = False) -> None:
        if select or not self.cursor_at_first_line or not self._inputs:
            super().action_cursor_up(select)
            return
        if self._recall_index is None:
            self._draft = self.text
            self._recall_index = len(self._inputs)
        if self._recall_index > 0:
            self._recall_index -= 1
            self._show(self._inputs[self._recall_index])

    def action_cursor_down(self, select: bool = False) -> None:
        if select or not self.cursor_at_last_line or self._recall_index is None:
            super().action_cursor_down(select)
            return
        self._recall_index += 1
        if self._recall_index >= len(self._inputs):
            self._recall_index = None
            self._show(self._draft)
        else:
            self._show(self._inputs[self._recall_index])

    def _show(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)
