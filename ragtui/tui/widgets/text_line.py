"""A line of plain text that changes often (counts, totals) without laying out the screen."""
from __future__ import annotations

from typing import cast

from textual.content import Content
from textual.css.styles import RulesMap
from textual.widgets import Static


class TextLine(Static):
    """Plain text (never markup). `show` skips text already shown, and lays the screen out
    again only when the new text takes another number of lines: a Static's update lays out
    the whole screen (20-40 ms at 160×50), and a key pressed meanwhile waits for it."""

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(text, markup=False, **kwargs)

    def show(self, text: str) -> None:
        if text == self.content:
            return
        width, rules = self.content_region.width, cast(RulesMap, self.styles)  # as Textual measures
        same_height = width > 0 and Content(text).get_height(rules, width) == self.visual.get_height(rules, width)
        self.update(text, layout=not same_height)
