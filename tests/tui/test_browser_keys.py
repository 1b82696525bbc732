"""Keys of the session browser that move between the filter and the list."""
from __future__ import annotations

from textual import events

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


async def test_down_from_the_filter_lands_on_the_newest_wherever_the_highlight_was_left(settings, memory_store):
    """QA Q17: the list kept its highlight on the 2nd row (moved there, or pushed down by a
    session another device made), and Down from the filter went back to it."""
    for i in range(5):
        memory_store.create_session(settings.user, title=f"chat {i}")
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        browser = app.query_one("SessionBrowser")
        await until(pilot, lambda: len(browser.sessions) == 5, what="the listing")
        await pilot.press("ctrl+f", "down", "down", "down")
        assert browser.highlighted_session.title == "chat 2"
        await pilot.press("ctrl+f", "down")
        assert browser.highlighted_session.title == "chat 4"

        await pilot.press("down")  # on "chat 3", when another device starts a chat: it goes on top
        browser.session_changed(memory_store.get_session(memory_store.create_session(settings.user, title="new")), created=True)
        await pilot.pause()
        assert browser.highlighted_session.title == "chat 3"
        await pilot.press("ctrl+f", "down")
        assert app.query_one("#session-list").has_focus
        assert browser.highlighted_session.title == "new"


async def test_the_open_session_is_marked_and_the_mark_moves_with_it(settings, memory_store):
    for i in range(4):
        memory_store.create_session(settings.user, title=f"chat {i}")
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        browser = app.query_one("SessionBrowser")
        await until(pilot, lambda: len(browser.sessions) == 4, what="the listing")
        rows = app.query_one("#session-list")

        def marked() -> list[str]:
            return [str(rows.get_option_at_index(i).prompt).split("\n")[0]
                    for i in range(rows.option_count) if str(rows.get_option_at_index(i).prompt).startswith("● ")]

        for title in ("chat 2", "chat 0"):
            sid = next(s.id for s in browser.sessions if s.title == title)
            browser.post_message(browser.SessionSelected(next(s for s in browser.sessions if s.id == sid)))
            await until(pilot, lambda: app.screen.session_id == sid, what=f"{title} open")
            await until(pilot, lambda: marked() == [f"● {title}"], what=f"the mark on {title} alone")


async def test_text_typed_with_the_slash_goes_to_the_filter(settings, memory_store):
    """QA Q43: on the list, "/today" read in one go opened the Delete dialog (its "d"): the
    filter got the focus only after the keys behind the slash."""
    for title in ("today's plan", "chat 1"):
        memory_store.create_session(settings.user, title=title)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        browser = app.query_one("SessionBrowser")
        await until(pilot, lambda: len(browser.sessions) == 2, what="the listing")
        await pilot.press("ctrl+f", "down")
        assert app.query_one("#session-list").has_focus
        for key, character in (("slash", "/"), *((c, c) for c in "today")):
            app.post_message(events.Key(key, character))
        await pilot.pause()
        field = app.query_one("#session-filter")
        assert app.screen is browser.screen and field.has_focus and field.value == "today"
        await until(pilot, lambda: [s.title for s in browser.sessions] == ["today's plan"], what="the match")
