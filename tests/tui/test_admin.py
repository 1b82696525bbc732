"""The admin panel: all users' sessions; extend, clear, export, open read-only."""
from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from ragtui.tui.screens.admin import AdminScreen
from ragtui.tui.screens.dialogs import ConfirmDialog
from ragtui.tui.screens.session_view import SessionViewScreen
from tests.tui.conftest import make_app, screen_text, until


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
        await pilot.press("s")  # by message count
        assert table_users(app) == ["bob", "alice", "carol"]
        await pilot.press("slash", *"brav", "enter")
        assert table_users(app) == ["bob"]
        await pilot.press("escape")
        assert not isinstance(app.screen, AdminScreen)  # back to the chat


async def test_extend_clear_export_and_open_read_only(settings, memory_store):
    ids = seed(memory_store)
    memory_store.client.expire(f"ragtui:session:{{{ids['carol']}}}", 50)
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
