"""At 80×24 the side panes open over the chat one at a time, and the browser takes the keys."""
from __future__ import annotations

from ragtui.tui.widgets.prompt_input import PromptInput
from ragtui.tui.widgets.session_browser import SessionBrowser
from tests.tui.conftest import make_app, until


async def test_narrow_overlays_open_one_at_a_time_and_the_browser_takes_the_keys(settings, memory_store):
    for title in ("first", "second", "third"):
        memory_store.create_session("alice", title=title)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        browser = app.query_one(SessionBrowser)
        assert not browser.display and not screen.stats.display  # hidden at first

        await until(pilot, lambda: browser.sessions, what="sessions listed")
        await pilot.press("f2")
        assert browser.display and app.focused is not None and browser in app.focused.ancestors_with_self
        await pilot.press("down")
        assert browser.highlighted_session is not None  # the list moved, not the prompt's history

        await pilot.press("f3")  # the stats pane replaces the browser: the chat is never a strip
        assert screen.stats.display and not browser.display
        assert isinstance(app.focused, PromptInput)

        await pilot.press("f3")
        assert not screen.stats.display and not browser.display


async def test_wide_panes_sit_beside_the_chat_and_toggle_alone(settings, memory_store):
    app = make_app(settings, memory_store)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert screen.browser.display and screen.stats.display
        await pilot.press("f2")
        assert not screen.browser.display and screen.stats.display
        await pilot.press("f2")
        assert screen.browser.display and screen.stats.display
