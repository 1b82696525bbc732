"""The session browser: listing, filtering, rename, pin, export, delete, live updates."""
from __future__ import annotations

from pathlib import Path

from ragtui.tui.screens.dialogs import ConfirmDialog
from ragtui.tui.widgets.chat_messages import UserMessage
from ragtui.tui.widgets.session_browser import SessionBrowser
from tests.tui.conftest import make_app, screen_text, until


def seed(store, user="alice"):
    first = store.create_session(user)
    store.add_message(first, "user", "what about penguins")
    store.add_message(first, "assistant", "They live in the south.")
    second = store.create_session(user)
    store.add_message(second, "user", "tell me about llamas")
    store.create_session("bob", title="not alice's")
    return first, second


async def focus_list(pilot, app):
    browser = app.query_one(SessionBrowser)
    await until(pilot, lambda: browser.sessions, what="sessions listed")
    app.query_one("#session-list").focus()
    await pilot.pause()
    return browser


async def test_lists_this_users_sessions_most_recent_first_and_filters_by_content(settings, memory_store):
    first, second = seed(memory_store)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        assert [s.id for s in browser.sessions] == [second, first]
        text = screen_text(app)
        assert "tell me about llamas" in text and "2 msgs · just now · TTL " in text
        assert "not alice's" not in text

        await pilot.press("slash", *"south")  # matches message content, not the title
        await until(pilot, lambda: [s.id for s in browser.sessions] == [first], what="the filtered list")
        await pilot.press("enter")  # resumes the best match
        await until(pilot, lambda: app.screen.session_id == first, what="the match to open")


async def test_rename_pin_export_and_delete_with_confirmation(settings, memory_store):
    first, second = seed(memory_store)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        await pilot.press("r", "ctrl+u", *"Llama facts", "enter")
        await until(pilot, lambda: memory_store.get_session(second).title == "Llama facts", what="rename")

        await pilot.press("p")
        await until(pilot, lambda: memory_store.get_session(second).pinned, what="pin")
        await until(pilot, lambda: "📌" in screen_text(app), what="the pin mark")
        assert memory_store.get_session(second).ttl is None

        await pilot.press("x", "j")
        exported = Path(settings.data_dir) / "exports" / f"llama-facts-{second[:8]}.json"
        await until(pilot, exported.exists, what="the export file")
        assert "tell me about llamas" in exported.read_text()

        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # said no: nothing happens
        await pilot.pause()
        assert memory_store.get_session(second) is not None
        await pilot.press("d", "y")
        await until(pilot, lambda: memory_store.get_session(second) is None, what="the delete")
        await until(pilot, lambda: [s.id for s in browser.sessions] == [first], what="the list refresh")


async def test_sessions_and_messages_from_another_instance_appear(settings, memory_store):
    first, _ = seed(memory_store)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        browser.query_one("#session-list").highlighted = [s.id for s in browser.sessions].index(first)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.session_id == first and app.query(UserMessage))

        # Another device writes to the same store: a new session and a message in this one.
        third = memory_store.create_session("alice", title="from the phone")
        memory_store.add_message(first, "user", "sent from the phone")
        await until(pilot, lambda: third in [s.id for s in browser.sessions], what="the new session")
        await until(pilot, lambda: "sent from the phone" in [w.text for w in app.query(UserMessage)],
                    what="the other device's message")


def earlier(app) -> str | None:
    """The 'Show N earlier messages' button's label, None while it is not shown."""
    buttons = app.query("#earlier")
    return str(buttons.first().label) if buttons and buttons.first().display else None


async def test_long_session_opens_on_its_newest_page_and_shows_earlier_on_demand(settings, memory_store):
    from ragtui.tui.screens.session_actions import PAGE

    sid = memory_store.create_session("alice", title="long one")
    for i in range(PAGE + 5):
        memory_store.add_message(sid, "user", f"question {i}")
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        assert not app.query("#earlier")  # mounted only when needed: it costs the first frame
        await focus_list(pilot, app)
        await pilot.press("enter")
        # The button is set after the messages are mounted: wait for both, not the first.
        await until(pilot, lambda: len(app.query(UserMessage)) == PAGE and earlier(app) == "Show 5 earlier messages",
                    what="the newest page and its button")
        assert [w.text for w in app.query(UserMessage)][0] == "question 5"

        button = app.query_one("#earlier")
        button.press()
        await until(pilot, lambda: len(app.query(UserMessage)) == PAGE + 5 and earlier(app) is None,
                    what="the earlier messages, and no button: nothing more to show")
        assert [w.text for w in app.query(UserMessage)][0] == "question 0"

        await pilot.press("ctrl+n")  # a new chat has no earlier messages either
        await pilot.pause()
        assert not app.query(UserMessage) and not button.display


class CountingStore:
    """A real store that counts the searches and listings asked of it."""

    def __init__(self, store) -> None:
        self._store = store
        self.searches: list[str] = []

    def __getattr__(self, name):
        return getattr(self._store, name)

    def iter_search_sessions(self, user_id, text, page=50):
        self.searches.append(text)
        return self._store.iter_search_sessions(user_id, text, page=page)


def count_line(app) -> str:
    return str(app.query_one("#session-count").render())


async def test_every_session_is_reached_by_scrolling_a_page_at_a_time(settings, memory_store):
    from ragtui.tui.live_sync import PAGE

    ids = [memory_store.create_session("alice", title=f"chat {i}") for i in range(2 * PAGE + 7)]
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        assert len(browser.sessions) == PAGE and count_line(app) == f"{PAGE} of {len(ids)} · ↓ for more"
        while browser.highlighted_session.id != ids[0]:  # the oldest, at the very end
            await pilot.press("end")
            await pilot.pause()
        assert [s.id for s in browser.sessions] == ids[::-1]  # each once, newest first
        assert count_line(app) == f"{len(ids)} sessions"


async def test_the_filter_is_searched_once_per_change_and_never_by_a_poll(settings, memory_store):
    first, second = seed(memory_store)
    store = CountingStore(memory_store)
    app = make_app(settings, store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        await pilot.press("slash", *"llama")  # typed faster than the debounce: one search
        await until(pilot, lambda: browser.shown_query == "llama" and count_line(app) == "1 match",
                    what="the search's results")
        assert [s.id for s in browser.sessions] == [second] and store.searches == ["llama"]

        # Another device writes: live sync reads again (the stats show it), the search is not re-run.
        memory_store.add_message(first, "user", "and llamas?")
        await until(pilot, lambda: "messages  4" in str(app.query_one("#stats-store").render()),
                    what="the stats after the other device's message")
        assert store.searches == ["llama"]

        await pilot.press("ctrl+u")  # cleared: the plain listing again, no search
        await until(pilot, lambda: browser.shown_query == "" and len(browser.sessions) == 2, what="the listing")
        assert store.searches == ["llama"]

        await pilot.press(*"south", "escape")  # Esc clears the filter: that search ends unseen
        await until(pilot, lambda: browser.query_text == "" and browser.shown_query == "" and count_line(app) == "2 sessions",
                    what="the listing again")
        assert store.searches in (["llama"], ["llama", "south"])


async def test_enter_in_the_filter_acts_on_its_own_results_only(settings, memory_store):
    first, second = seed(memory_store)
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        await pilot.press("enter")  # open the newest
        await until(pilot, lambda: app.screen.session_id == second, what="the session to open")

        await pilot.press("ctrl+f", *"zzzz-no-match", "enter")  # Enter at once, before any search
        await until(pilot, lambda: count_line(app) == "no match for “zzzz-no-match”", what="the empty result")
        await until(pilot, lambda: any("No session matches" in n.message for n in app._notifications), what="the notice")
        assert app.screen.session_id == second  # nothing else was opened

        await pilot.press("ctrl+u", *"penguin", "enter")  # Enter before the results: opens the match
        await until(pilot, lambda: app.screen.session_id == first, what="the match to open")


async def test_a_page_that_no_longer_fits_below_the_rows_shown_is_asked_for_again(settings, memory_store):
    from ragtui.tui.live_sync import MORE, PAGE

    ids = [memory_store.create_session("alice", title=f"chat {i}") for i in range(PAGE + MORE + 5)]
    newest_first = ids[::-1]
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        sync = app.screen.sync
        # A page read before the rows above it changed (as when one was deleted meanwhile):
        # appending it would leave a gap; the browser asks again from where it is instead.
        stale = memory_store.get_all_active_sessions("alice", limit=MORE, offset=PAGE + 1)
        sync.post_message(sync._Listed("", stale, first=False, more=True, offset=PAGE + 1))
        await pilot.pause()
        assert len(browser.sessions) == PAGE
        await pilot.press("end")
        await until(pilot, lambda: len(browser.sessions) == PAGE + MORE, what="the page asked for again")
        assert [s.id for s in browser.sessions] == newest_first[: PAGE + MORE]


async def test_reading_the_listing_afresh_keeps_the_rows_scrolled_to(settings, memory_store):
    from ragtui.tui.live_sync import MORE, PAGE

    ids = [memory_store.create_session("alice", title=f"chat {i}") for i in range(PAGE + MORE + 5)]
    app = make_app(settings, memory_store)
    async with app.run_test(size=(140, 40)) as pilot:
        browser = await focus_list(pilot, app)
        await pilot.press("end")
        await until(pilot, lambda: len(browser.sessions) > PAGE, what="the second page")
        browser.query_one("#session-list").highlighted = PAGE + 20
        deep = browser.highlighted_session.id

        memory_store.add_message(ids[3], "user", "written elsewhere")  # the listing is read afresh
        await until(pilot, lambda: browser.sessions[0].id == ids[3], what="the session written to, on top")
        assert len(browser.sessions) >= PAGE + MORE and browser.highlighted_session.id == deep


def test_a_row_keeps_to_two_lines_in_a_narrow_pane():
    from rich.cells import cell_len

    from ragtui.sessions import Session
    from ragtui.tui.widgets.session_browser import session_prompt

    session = Session(id="s", user_id="u", title="user01 question 2999 about a long topic", created_at=0,
                      last_activity=1000, message_count=12, ttl=86340, pinned=False, model="")
    for width in (25, 30, 60):
        title, meta = str(session_prompt(session, 1060, current=True, width=width)).split("\n")
        assert cell_len(title) <= width and cell_len(meta) <= width, (width, title, meta)
    assert meta == "12 msgs · 1m ago · TTL 23h59"  # all of it where there is room
