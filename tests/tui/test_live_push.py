"""Live sync by push against a real redis-server: with the safety checks pushed out of
reach, what another device does still shows at once — in the open chat and the browser —
and again after Redis restarts under the app."""
from __future__ import annotations

import pytest

from ragtui.sessions import open_store
from ragtui.tui import live_sync
from ragtui.tui.widgets.chat_messages import UserMessage
from tests.redis_server import RedisServer
from tests.tui.conftest import make_app, until


@pytest.fixture(autouse=True)
def push_only(monkeypatch):
    """No safety check within a test's time: only a notice can bring a change."""
    monkeypatch.setattr(live_sync, "SAFETY_SECONDS", 3600)


def shown(app) -> list[str]:
    return [w.text for w in app.query(UserMessage)]


def titles(app) -> list[str]:
    return [s.title for s in app.query_one("SessionBrowser").sessions]


async def open_first(pilot, app, sid):
    browser = app.query_one("SessionBrowser")
    await until(pilot, lambda: browser.sessions and app.screen.sync.pushed, what="the listing and the subscription")
    app.query_one("#session-list").focus()
    await pilot.press("enter")
    await until(pilot, lambda: app.screen.session_id == sid and app.query(UserMessage), what="the session to open")


async def test_another_devices_changes_are_pushed_to_the_chat_and_the_browser(settings, redis_url, tmp_path):
    store = open_store(redis_url, user="alice", data_dir=tmp_path / "laptop")
    phone = open_store(redis_url, user="alice", data_dir=tmp_path / "phone")
    older = phone.create_session("alice", title="older chat")
    sid = phone.create_session("alice", title="shared chat")
    phone.add_message(sid, "user", "first")
    try:
        app = make_app(settings, store)
        async with app.run_test(size=(140, 40)) as pilot:
            await open_first(pilot, app, sid)
            phone.add_message(sid, "user", "from the phone")
            await until(pilot, lambda: shown(app) == ["first", "from the phone"], what="the pushed message")

            count = app.query_one("#session-count")
            assert str(count.render()) == "2 sessions"
            new = phone.create_session("alice", title="made on the phone")
            await until(pilot, lambda: titles(app)[0] == "made on the phone", what="the new session")
            assert str(count.render()) == "3 sessions"
            phone.rename_session(older, "renamed on the phone")
            await until(pilot, lambda: "renamed on the phone" in titles(app), what="the rename")
            phone.clear_session(new)
            await until(pilot, lambda: "made on the phone" not in titles(app), what="the deletion")
            assert str(count.render()) == "2 sessions"
    finally:
        store.close()
        phone.close()


async def test_after_redis_restarts_the_subscription_is_made_again(settings, tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    store = open_store(server.url, user="alice", data_dir=tmp_path / "laptop")
    sid = store.create_session("alice", title="shared chat")
    store.add_message(sid, "user", "first")
    try:
        app = make_app(settings, store)
        async with app.run_test(size=(140, 40)) as pilot:
            await open_first(pilot, app, sid)
            server.restart()
            await until(pilot, lambda: not app.screen.sync.pushed, what="the lost subscription")
            await until(pilot, lambda: app.screen.sync.pushed, what="the subscription again", timeout=20)
            phone = open_store(server.url, user="alice", data_dir=tmp_path / "phone")
            phone.add_message(sid, "user", "after the restart")
            await until(pilot, lambda: shown(app) == ["first", "after the restart"], what="the pushed message")
            phone.close()
    finally:
        store.close()
        server.stop()
