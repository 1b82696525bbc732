"""Snapshots of the main screen with an answer and its sources, and of the admin panel, at
80x24 and 160x48 in a dark and a light theme; and of help. Made deterministic: a frozen
clock, fixed TTLs, fixed stats and session ids, and the fake chat service."""
from __future__ import annotations

from dataclasses import replace

import pytest

from ragtui.sessions import StoreStats
from ragtui.source import Source
from ragtui.tui import live_sync
from tests.tui.conftest import make_app, until
from ragtui.tui.widgets.session_browser import SessionBrowser
from tests.tui.fakes import FakeChatService

NOW = 1_750_000_000.0


class FrozenStore:
    """A real memory store whose listings, TTLs and stats don't depend on the clock (a
    session's TTL is always the whole hour the app starts its countdown from)."""

    backend = "redis"  # as described below (a memory store would add its warning toast)

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def _freeze(self, session, n: int | None = None):
        fixed = replace(session, ttl=None if session.pinned else 3600, last_activity=NOW - 300 * (n or 1))
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
            backend="redis", health="ok", sessions=4, messages=5, users=3, memory_bytes=1_234_567,
            latency_ms={"add_message": {"p50": 0.4, "p99": 1.9, "n": 42}},
            server={"redis_version": "7.2.4", "connected_clients": 2, "used_memory_peak_human": "1.30M"},
            location="redis://localhost:6379/0",
        )

    def describe(self):
        return "Redis ✓ redis://localhost:6379/0"


@pytest.fixture
def frozen(memory_store, monkeypatch):
    # Each stats fetch adds a point to the sparkline: on a loaded machine a second fetch
    # lands before the snapshot. Fetch them once.
    for name in ("STATS_SECONDS", "STATS_AFTER_CHANGE"):
        monkeypatch.setattr(live_sync, name, 10**6)
    for user, title in (("bob", "Deploy checklist"), ("carol", "Quarterly numbers")):
        sid = memory_store.create_session(user, title=title)
        memory_store.add_message(sid, "user", f"about {title}")
    pinned = memory_store.create_session("alice", title="Backups")
    memory_store.add_message(pinned, "user", "where are backups kept")
    memory_store.pin_session(pinned)
    answered = memory_store.create_session("alice", title="How do I start it?")
    memory_store.add_message(answered, "user", "How do I start it?")
    memory_store.add_message(answered, "assistant", "Run **make run** [1].", sources=[s.to_dict() for s in SOURCES])
    return FrozenStore(memory_store)


def frozen_app(settings, store, theme: str, **kwargs):
    return make_app(replace(settings, theme=theme), store, FakeChatService(store),
                    clock=lambda: NOW, monotonic=lambda: 500.0, **kwargs)


# Two themes, a dark and a light one; the smallest terminal the app is made for and a large one.
THEMES = ["textual-dark", "textual-light"]
SIZES = [(80, 24), (160, 48)]
SOURCES = [
    Source(1, "docs/guide.md", "Guide", "§ Install", "Run make run to start.", 0.91, cited=True,
           evidence=((1, "Run make run to start the app."),)),
    Source(2, "docs/faq.md", "Questions people ask", "§ Sessions", "Sessions expire.", 0.74),
]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda size: "x".join(map(str, size)))
def test_main_screen_with_an_answer_and_its_sources(snap_compare, settings, frozen, theme, size):
    app = frozen_app(settings, frozen, theme)

    async def resume(pilot):
        await until(pilot, lambda: app.screen.answering.model_ready)
        browser = app.query_one(SessionBrowser)
        await until(pilot, lambda: len(browser.sessions) == 2)
        app.query_one("PromptInput").cursor_blink = False  # a blinking cursor is a clock
        app.screen.post_message(SessionBrowser.SessionSelected(browser.sessions[0]))  # Enter, also with it hidden
        await until(pilot, lambda: app.query("AssistantMessage") and app.screen.session_id)
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The countdown shows 1:00:00 before and after live sync reads the TTL (frozen at the store's).
        assert str(app.screen.countdown.render()) == "TTL 1:00:00"

    assert snap_compare(app, terminal_size=size, run_before=resume)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda size: "x".join(map(str, size)))
def test_admin_panel(snap_compare, settings, frozen, theme, size):
    app = frozen_app(settings, frozen, theme, admin=True)

    async def loaded(pilot):
        await until(pilot, lambda: app.screen.query_one("DataTable").row_count == 4)
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=loaded)


def test_help_screen(snap_compare, settings, frozen):
    app = frozen_app(settings, frozen, "textual-dark")

    async def ready(pilot):
        await until(pilot, lambda: app.screen.answering.model_ready)
        await app.workers.wait_for_complete()
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 60), run_before=ready)
