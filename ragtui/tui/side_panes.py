"""The side panes around the chat (session browser, stats): beside it on a wide terminal;
on a narrow one hidden at first and opened over it, one at a time, the browser taking the
keys while it is open (two overlays left the chat a strip between them)."""
from __future__ import annotations

from typing import Callable

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import OptionList

NARROW = 110  # below this width the side panes start hidden, and open over the chat


class SidePanes:
    def __init__(self, screen: Screen, *, browser: Widget, stats: Widget, focus_chat: Callable[[], object]) -> None:
        self.screen = screen
        self.browser, self.stats = browser, stats
        self.focus_chat = focus_chat
        self._user_toggled: set[Widget] = set()

    @property
    def narrow(self) -> bool:
        return self.screen.has_class("-narrow")

    def fit(self, width: int) -> None:
        self.screen.set_class(width < NARROW, "-narrow")
        for pane in (self.browser, self.stats):
            if pane not in self._user_toggled:
                pane.display = not self.narrow
        if self.narrow and self.browser.display and self.stats.display:
            self.stats.display = False

    def toggle(self, pane: Widget) -> None:
        self._user_toggled.add(pane)
        pane.display = not pane.display
        if not self.narrow:
            return
        for other in (self.browser, self.stats):
            if other is not pane:
                other.display = False
        if pane is self.browser and pane.display:  # the rows, or the filter until they come
            rows = self.browser.query(OptionList)
            (rows.first() if rows else self.browser.query_one("#session-filter")).focus()
        else:
            self.focus_chat()

    def close_over_chat(self) -> None:
        """A narrow browser closes once it has opened what was asked for."""
        if self.narrow:
            self.browser.display = False
