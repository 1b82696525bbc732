"""Snapshots of the main screen, the admin panel and help, made deterministic:
a frozen clock, fixed TTLs, fixed stats and session ids, and the fake chat service."""
from __future__ import annotations

from dataclasses import replace

import pytest

from ragtui.sessions import StoreStats
from ragtui.tui import live_sync
from tests.tui.conftest import make_app, until

NOW = 1_750_000_000.0
SIZE = (120, 34)


class FrozenStore:
    """A real memory store whose listings, TTLs and stats don't depend on the clock."""

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def _freeze(self, session, n: int | None = None):
        fixed = replace(session, ttl=None if session.pinned else 1800, last_activity=NOW - 300 * (n or 1))
        return replace(fixed, id=f"{n:04d}-fixed-id") if n is not None else fixed

    def get_session(self, sid):
        session = self._store.get_session(sid)
        return session and self._freeze(session)

    def ttl(self, sid):
        return self.get_session(sid).ttl

    def get_all_active_sessions(self, user_id=None, limit=50, offset=0):
        sessions = self._store.get_all_active_sessions(user_id=user_id, limit=limit, offset=offset)
        if user_id is None:  # the admin table shows ids: make them fixed too
            return [self._freeze(s, n) for n, s in enumerate(sessions, 1)]
        return [replace(self._freeze(s), last_activity=NOW - 300 * n) for n, s in enumerate(sessions, 1)]

    def get_session_stats(self):
        return StoreStats(
            backend="redis", health="ok", sessions=3, messages=7, memory_bytes=1_234_567,
            latency_ms={"add_message": {"p50": 0.4, "p99": 1.9, "n": 42}},
            server={"redis_version": "7.2.4", "connected_clients": 2, "used_memory_peak_human": "1.30M"},
            location="redis://localhost:6379/0",
        )

    def describe(self):
        return "Redis ✓ redis://localhost:6379/0"


@pytest.fixture
def frozen(memory_store, monkeypatch):
    # Stats are fetched every few polls and each fetch adds a point to the sparkline: on a
    # loaded machine a second fetch lands before the snapshot. Fetch them once.
    monkeypatch.setattr(live_sync, "STATS_EVERY", 10**6)
    for user, title in (("bob", "Deploy checklist"), ("carol", "Quarterly numbers")):
        sid = memory_store.create_session(user, title=title)
        memory_store.add_message(sid, "user", f"about {title}")
    pinned = memory_store.create_session("alice", title="Backups")
    memory_store.add_message(pinned, "user", "where are backups kept")
    memory_store.pin_session(pinned)
    return FrozenStore(memory_store)


def frozen_app(settings, store, **kwargs):
    return make_app(settings, store, clock=lambda: NOW, monotonic=lambda: 500.0, **kwargs)


def test_main_screen(snap_compare, settings, frozen):
    app = frozen_app(settings, frozen)

    async def ask(pilot):
        await until(pilot, lambda: app.screen.answering.model_ready and len(app.query_one("SessionBrowser").sessions) == 1)
        app.query_one("PromptInput").cursor_blink = False  # a blinking cursor is a clock
        await pilot.press(*"How do I start it?", "enter")
        await until(pilot, lambda: app.query("AssistantMessage") and not app.screen.answering.generating)
        await until(pilot, lambda: len(app.query_one("SessionBrowser").sessions) == 2)
        # a poll after the answer has synced the TTL (one during it lists the session but skips it)
        await until(pilot, lambda: str(app.screen.countdown.render()) == "TTL 30:00")
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=ask)


def test_admin_panel(snap_compare, settings, frozen):
    app = frozen_app(settings, frozen, admin=True)

    async def loaded(pilot):
        await until(pilot, lambda: app.screen.query_one("DataTable").row_count == 3)
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)


def test_help_screen(snap_compare, settings, frozen):
    app = frozen_app(settings, frozen)
    assert snap_compare(app, terminal_size=(100, 60), press=["f1"])
