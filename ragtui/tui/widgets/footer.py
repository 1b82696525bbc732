"""Textual's footer, filled in without waiting a frame and rebuilt only when its keys change."""
from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey  # not exported; the footer's own key widget


class Footer(TextualFooter):
    """The stock footer starts empty and fills in only after the next refresh, and rebuilds
    all its keys (~30 ms) whenever bindings *may* have changed: each focus move, screen
    resume and terminal focus-in. At start-up that made three rebuilds, and the first
    frame had no keys. Its keys also start compact and are then set to the footer's
    style, restyling each key twice (~15 ms for the first frame's 13 keys).
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

    def compose(self):
        # Start the keys bound to the footer's style with it (the palette key is not bound).
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    async def recompose(self) -> None:
        keys = self._keys_shown()
        if keys != self._shown:
            self._shown = keys
            await super().recompose()
