"""Issue 11's done-when: 200,000 sessions (20 users × 10,000) in a real Redis. The browser
reaches a user's oldest session by scrolling; the admin filter finds a session far outside
the newest 500. (Key latency at this size is measured in bench/session_scale.py.)"""
from __future__ import annotations

from dataclasses import replace

import pytest
import redis
from textual.widgets import DataTable

from ragtui.sessions import open_store
from tests.scale_fill import fill, session_id
from tests.tui.conftest import make_app, until

pytestmark = pytest.mark.slow  # ~20 s: make test runs it, make test-fast does not

USERS, PER_USER = 20, 10_000
USER = "user07"


async def test_every_one_of_200k_sessions_is_reachable(settings, redis_url, tmp_path):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    fill(client, users=USERS, sessions_per_user=PER_USER, ttl=0)  # pinned: the quickest fill
    settings = replace(settings, user=USER)
    mine = open_store(redis_url, user=USER, data_dir=tmp_path / "user")
    admin = open_store(redis_url, user=None, data_dir=tmp_path / "admin")
    try:
        app = make_app(settings, mine)
        async with app.run_test(size=(100, 30)) as pilot:
            browser = app.query_one("SessionBrowser")
            await until(pilot, lambda: browser.sessions, what="the first page")
            assert str(app.query_one("#session-count").render()) == f"50 of {PER_USER:,} · ↓ for more"
            app.query_one("#session-list").focus()
            oldest = session_id(USER, 0)
            while browser.highlighted_session.id != oldest:
                loaded = len(browser.sessions)
                await pilot.press("end")
                await until(pilot, lambda: len(browser.sessions) > loaded or browser.highlighted_session.id == oldest,
                            what=f"the page after row {loaded}")
            assert len(browser.sessions) == PER_USER and browser.sessions[0].id == session_id(USER, PER_USER - 1)

        app = make_app(settings, admin, admin=True)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(DataTable)
            await until(pilot, lambda: table.row_count == 100, what="the admin's first page")
            assert f"{USERS * PER_USER:,} active sessions" in str(app.screen.query_one("#admin-totals").render())
            far = session_id(USER, 42)  # 9,957 sessions of user07 alone are newer
            await pilot.press("slash", *far, "enter")
            await until(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[1]) == far[:8],
                        what="the session far outside the newest 500", timeout=60)
    finally:
        mine.close()
        admin.close()
        client.flushall()
        client.close()
