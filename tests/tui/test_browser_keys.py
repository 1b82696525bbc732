"""Keys of the session browser that move between the filter and the list."""
from __future__ import annotations

from tests.tui.conftest import make_app, until


async def test_down_from_the_filter_lands_on_the_newest_session(settings, memory_store):
    titles = [f"chat {i}" for i in range(5)]
    for title in titles:
        memory_store.create_session(settings.user, title=title)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        browser = app.query_one("SessionBrowser")
        await until(pilot, lambda: len(browser.sessions) == 5, what="the listing")
        await pilot.press("ctrl+f", "down")
        assert app.query_one("#session-list").has_focus
        assert browser.highlighted_session.title == "chat 4"  # the newest, not the one after it
        await pilot.press("down")
        assert browser.highlighted_session.title == "chat 3"
