"""The filter boxes' editing keys act in the order they were typed (QA's Q4)."""
from __future__ import annotations

import pytest
from textual import events
from textual.app import App
from textual.widgets import Input

from ragtui.tui.widgets.filter_input import FilterInput


class OneBox(App):
    def __init__(self, box: type[Input]) -> None:
        super().__init__()
        self.box = box

    def compose(self):
        yield self.box()


@pytest.mark.parametrize(("keys", "typed"), [
    (["ctrl+u", *"def"], "def"),  # a new filter typed at once after clearing the old one
    ([*"gh", "ctrl+u", *"ij"], "ij"),
    ([*"ab", "backspace", "c"], "ac"),
    ([*"ab", "left", "c"], "acb"),
    ([*"one two", "ctrl+w", *"three"], "one three"),
])
async def test_keys_arriving_together_act_in_order(keys, typed):
    app = OneBox(FilterInput)
    async with app.run_test() as pilot:
        box = app.query_one(FilterInput)
        box.focus()
        await pilot.pause()
        for key in keys:  # all queued before the first is handled, as a terminal's read delivers them
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause()
        assert box.value == typed
