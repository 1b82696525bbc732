"""The admin panel: all users' sessions; extend, clear, export, open read-only."""
from __future__ import annotations

import threading
from pathlib import Path

from textual import events
from textual.widgets import DataTable

import pytest

from ragtui.tui.screens import admin
from ragtui.tui.screens.admin import AdminScreen
from ragtui.tui.screens.dialogs import ConfirmDialog
from ragtui.tui.screens.session_view import SessionViewScreen
from tests.tui.conftest import make_app, screen_text, until


@pytest.fixture(autouse=True)
def quick_refresh(monkeypatch):
    """The panel's refresh every 0.25 s instead of 2 s: tests that wait for one wait less."""
    monkeypatch.setattr(admin, "REFRESH_SECONDS", 0.25)


def seed(store):
    ids = {}
    for user, title, words in (("alice", "alpha", 2), ("bob", "bravo", 4), ("carol", "charlie", 1)):
        sid = store.create_session(user, title=title)
        for i in range(words):
            store.add_message(sid, "user" if i % 2 == 0 else "assistant", f"{title} message {i}")
        ids[user] = sid
    return ids


def table_users(app) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def open_admin(pilot, app):
    assert isinstance(app.screen, AdminScreen)
    await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 3, what="the table")


async def test_lists_everyone_sorts_and_filters(settings, memory_store):
    seed(memory_store)
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await open_admin(pilot, app)
        assert table_users(app) == ["carol", "bob", "alice"]  # most recent first
        assert "3 active sessions · 7 messages · 3 users" in screen_text(app)
        assert "INFO memory: memory used" in screen_text(app)
        await pilot.press("s")  # by user
        assert table_users(app) == ["alice", "bob", "carol"]
        assert "user, within this page" in totals(app)  # the store keeps no index by user
        await pilot.press("s")  # by message count
        assert table_users(app) == ["bob", "alice", "carol"]
        await pilot.press("slash", *"brav", "enter")  # searched by the store, once typing paused
        await until(pilot, lambda: table_users(app) == ["bob"], what="the filtered rows")
        await pilot.press("escape")
        assert not isinstance(app.screen, AdminScreen)  # to the chat, made only now
        await until(pilot, lambda: app.main.store is memory_store, what="the chat to get the store")
        await pilot.press("f4")
        assert isinstance(app.screen, AdminScreen) and table_users(app) == ["bob"]  # the panel as it was left


async def test_typing_on_the_table_starts_the_filter(settings, memory_store):
    seed(memory_store)
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await open_admin(pilot, app)
        for key in "alice":  # at once, as a terminal delivers a fast typist's keys
            app.post_message(events.Key(key, key))
        await pilot.pause()  # "a" is no key of the panel's: it starts the filter, the rest goes there
        field = app.screen.query_one("#admin-filter")
        assert field.has_focus and field.value == "alice"
        await until(pilot, lambda: table_users(app) == ["alice"], what="the filtered rows")
        await pilot.press("enter", "s")  # back on the table, its keys are keys again
        assert "user, within this page" in totals(app) and field.value == "alice"


async def test_text_typed_with_the_slash_goes_to_the_filter(settings, memory_store):
    """QA Q43: "/bob" read in one go turned the page ("b") and opened the highlighted session
    read-only ("o"): the filter got the focus only after the keys behind the slash."""
    seed(memory_store)
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await open_admin(pilot, app)
        for key, character in (("slash", "/"), ("b", "b"), ("o", "o"), ("b", "b")):
            app.post_message(events.Key(key, character))
        await pilot.pause()
        field = app.screen.query_one("#admin-filter")
        assert isinstance(app.screen, AdminScreen) and field.has_focus and field.value == "bob"
        await until(pilot, lambda: table_users(app) == ["bob"], what="the filtered rows")


async def test_extend_clear_export_and_open_read_only(settings, memory_store):
    ids = seed(memory_store)
    memory_store.client.expire(memory_store.keys.meta("carol", ids["carol"]), 50)
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await open_admin(pilot, app)  # carol's is on top
        await pilot.press("e")
        await until(pilot, lambda: memory_store.ttl(ids["carol"]) > 3000, what="the extension")

        await pilot.press("x", "m")
        exported = Path(settings.data_dir) / "exports" / f"charlie-{ids['carol'][:8]}.md"
        await until(pilot, exported.exists, what="the export")
        assert "charlie message 0" in exported.read_text()

        await pilot.press("o")
        assert isinstance(app.screen, SessionViewScreen)
        await until(pilot, lambda: "charlie message 0" in screen_text(app), what="the read-only history")
        assert not app.screen.query("PromptInput")
        await pilot.press("escape")

        await pilot.press("c")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await until(pilot, lambda: memory_store.get_session(ids["carol"]) is None, what="the clear")
        await until(pilot, lambda: table_users(app) == ["bob", "alice"], what="the refresh")


def totals(app) -> str:
    return str(app.screen.query_one("#admin-totals").render())


@pytest.mark.slow  # 3-6 s (many frames, or real seconds of a TTL): make test, not test-fast
async def test_pages_through_everyone_and_finds_any_session_on_the_server(settings, memory_store):
    from ragtui.tui.screens.admin import PAGE

    oldest = memory_store.create_session("someone-with-a-long-user-id", title="the oldest of them all, kept forever")
    ids = [memory_store.create_session(f"user{i % 7:02d}", title=f"Question number {i} about penguins")
           for i in range(2 * PAGE + 10)]
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == PAGE, what="the first page")
        total = len(ids) + 1
        assert f"rows 1–{PAGE} of {total}" in totals(app) and f"{total} active sessions" in totals(app)
        assert "8 users" in totals(app)  # exact: from the store, not the rows loaded
        assert table_users(app)[0] == f"user{(len(ids) - 1) % 7:02d}"  # newest first
        newest = f"Question number {len(ids) - 1} about penguins"  # whole: columns not cut to the header
        await until(pilot, lambda: newest in screen_text(app), what="the newest title drawn in full")

        await pilot.press("n", "n")
        await until(pilot, lambda: f"rows {2 * PAGE + 1}–{total} of {total}" in totals(app), what="the last page")
        assert table_users(app)[-1] == "someone-with-a-long-user-id"
        await pilot.press("b")
        await until(pilot, lambda: f"rows {PAGE + 1}–{2 * PAGE} of" in totals(app), what="the page before")

        await pilot.press("slash", *"zzz-nothing", "enter")
        await until(pilot, lambda: "no match for “zzz-nothing”" in totals(app), what="no match")
        await pilot.press("slash", *"kept forever", "enter")  # not on this page: the store finds it
        await until(pilot, lambda: "matches 1–1 for “kept forever”" in totals(app), what="the search's page")
        assert table_users(app) == ["someone-with-a-long-user-id"]
        await pilot.press("o")
        assert isinstance(app.screen, SessionViewScreen) and app.screen._session.id == oldest


async def test_the_next_page_is_read_ahead_and_shown_without_waiting_for_the_store(settings, memory_store):
    from ragtui.tui.screens.admin import PAGE

    for i in range(2 * PAGE + 5):
        memory_store.create_session(f"user{i % 3}", title=f"chat {i}")
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == PAGE, what="the first page")
        await app.workers.wait_for_complete()  # the second page, read ahead
        store_answers = threading.Event()
        listing = memory_store.get_all_active_sessions

        def slow_listing(*args, **kwargs):
            store_answers.wait(10)
            return listing(*args, **kwargs)

        memory_store.get_all_active_sessions = slow_listing  # every read from now on waits
        try:
            await pilot.press("n")
            assert f"rows {PAGE + 1}–{2 * PAGE} of" in totals(app)  # shown before the store answered
            assert str(table.get_row_at(0)[2]) == f"chat {PAGE + 4}"
        finally:
            store_answers.set()
        await pilot.press("n")  # the third page was read ahead once the second was shown
        await until(pilot, lambda: f"rows {2 * PAGE + 1}–{2 * PAGE + 5} of" in totals(app), what="the last page")


@pytest.mark.slow  # 3-6 s (many frames, or real seconds of a TTL): make test, not test-fast
async def test_a_refresh_keeps_the_cursor_and_the_scroll_position(settings, memory_store):
    ids = [memory_store.create_session("alice", title=f"chat {i}: a title wider than the screen") for i in range(60)]
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(60, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 60, what="the table")
        await pilot.press("down", *["right"] * 40)  # the cursor on row 1, the view scrolled to the right
        table.scroll_to(y=30, animate=False)  # and down, as the mouse wheel does
        await pilot.pause()
        selected, scroll = app.screen.selected_session.id, (table.scroll_x, table.scroll_y)
        assert table.cursor_row == 1 and scroll[0] > 0 and scroll[1] == 30

        # Another device writes to the oldest session: the next refresh updates its row in place.
        memory_store.add_message(ids[0], "user", "a new message")
        await until(pilot, lambda: str(table.get_row_at(59)[3]) == "1", what="the refreshed row")
        await pilot.pause()
        assert app.screen.selected_session.id == selected  # the cursor stays on its session
        assert (table.scroll_x, table.scroll_y) == scroll  # and the view where it was

        # Sorted by last activity, a session written to moves to the top: the cursor follows its session.
        await pilot.press(*"sssss")
        assert "last activity, within this page" in totals(app)
        assert str(table.get_row_at(0)[1]) == ids[0][:8] and app.screen.selected_session.id == selected
        memory_store.add_message(ids[30], "user", "another message")
        await until(pilot, lambda: str(table.get_row_at(0)[1]) == ids[30][:8], what="the row moved up")
        assert app.screen.selected_session.id == selected and table.cursor_row == 3


async def test_a_session_opened_read_only_names_the_model_that_answered(settings, memory_store):
    ids = seed(memory_store)
    memory_store.set_session_model(ids["carol"], "SmolLM2-135M-Instruct")
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await open_admin(pilot, app)  # carol's is on top
        await pilot.press("o")
        await until(pilot, lambda: "1 message · model SmolLM2-135M-Instruct" in screen_text(app),
                    what="the read-only history's model")


@pytest.mark.slow  # 3-6 s (many frames, or real seconds of a TTL): make test, not test-fast
async def test_the_cursor_is_drawn_on_its_row_alone_as_the_view_scrolls(settings, memory_store):
    """The table keeps lines rendered while the cursor moves: none may keep an old cursor."""
    for i in range(80):
        memory_store.create_session("alice", title=f"chat {i}")
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 80, what="the table")
        cursor = table.get_component_rich_style("datatable--cursor").bgcolor

        def rows_drawn_with_the_cursor() -> set[int]:
            return {int(table.scroll_y) + y - 1 for y in range(1, table.size.height)
                    if any(seg.style is not None and seg.style.bgcolor == cursor for seg in table.render_line(y))}

        for keys in (["down"] * 25, ["up"] * 15, ["end"], ["pageup"], ["home"], ["down"]):
            await pilot.press(*keys)
            await pilot.pause()
            assert rows_drawn_with_the_cursor() == {table.cursor_row}, keys
            if keys in (["home"], ["end"]):  # the first or last row, in view
                assert table.cursor_row == (0 if keys == ["home"] else 79)
                assert table.scroll_y == (0 if keys == ["home"] else table.max_scroll_y)



async def test_text_typed_after_ctrl_u_in_the_filter_is_kept(settings, memory_store):
    """QA's Q4: ctrl+u, then a new filter typed at once (a burst, as a terminal delivers it),
    while the last filter's search and the refreshes run: the new text stays, whole."""
    for i in range(150):
        memory_store.create_session(f"user{i % 3}", title=f"question {i}")
    app = make_app(settings, memory_store, admin=True)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 100, what="the first page")
        await pilot.press("slash")
        field = app.screen.query_one("#admin-filter")
        for n in range(8):
            text = f"question 2{n}"
            for key in ["ctrl+u", *text]:
                app.post_message(events.Key(key, key if len(key) == 1 else None))
            await until(pilot, lambda: f"for “{text}”" in totals(app), what=f"the search for {text!r}")
            assert field.value == text
