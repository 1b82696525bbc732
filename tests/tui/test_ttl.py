"""The TTL countdown: ticks, warns in the last minute, re-syncs, extends, expires."""
from __future__ import annotations

import pytest

from textual.app import App

from ragtui.sessions import open_store
from ragtui.tui.widgets.ttl_countdown import TtlCountdown
from tests.tui.conftest import make_app, screen_text, until
from tests.tui.fakes import FakeChatService


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountdownApp(App):
    def __init__(self, clock) -> None:
        super().__init__()
        self.clock = clock
        self.expired = 0

    def compose(self):
        yield TtlCountdown(clock=self.clock)

    def on_ttl_countdown_expired(self) -> None:
        self.expired += 1


async def test_ticks_every_second_highlights_the_last_minute_and_reports_expiry():
    clock = Clock()
    app = CountdownApp(clock)
    async with app.run_test() as pilot:
        countdown = app.query_one(TtlCountdown)
        countdown.set_ttl(65)
        assert str(countdown.render()) == "TTL 01:05" and not countdown.has_class("-expiring")
        clock.now += 10
        await until(pilot, lambda: str(countdown.render()) == "TTL 00:55", what="a tick")
        assert countdown.has_class("-expiring")
        clock.now += 60
        await until(pilot, lambda: app.expired == 1, what="the expiry event")
        countdown.set_ttl(None)
        assert str(countdown.render()) == "TTL ∞" and not countdown.has_class("-expiring")


async def test_sync_corrects_only_real_drift():
    clock = Clock()
    app = CountdownApp(clock)
    async with app.run_test():
        countdown = app.query_one(TtlCountdown)
        countdown.set_ttl(100)
        clock.now += 0.4
        countdown.sync(100)  # true value in (99, 100]: local 99.6 is right
        assert round(countdown.remaining, 3) == 99.6
        countdown.sync(90)  # the server says less (another instance, a clock jump): follow it
        assert round(countdown.remaining, 3) == 90


async def test_extend_key_restores_the_full_ttl(settings, memory_store):
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await pilot.press(*"hi", "enter")
        await until(pilot, lambda: app.screen.session_id and not app.screen.answering.generating)
        sid = app.screen.session_id
        memory_store.extend_session(sid, 100)  # as if idle for an hour
        countdown = app.query_one(TtlCountdown)
        await until(pilot, lambda: str(countdown.render()).startswith("TTL 01:"), what="the re-sync")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: str(countdown.render()) in ("TTL 1:00:00", "TTL 59:59"), what="the extension")
        assert memory_store.ttl(sid) > 3500


@pytest.mark.slow  # 3-6 s (many frames, or real seconds of a TTL): make test, not test-fast
async def test_expired_session_is_announced_and_the_next_question_starts_a_new_one(settings):
    store = open_store("memory", ttl=2)
    app = make_app(settings, store, FakeChatService(store))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        await pilot.press(*"first", "enter")
        await until(pilot, lambda: app.screen.session_id and not app.screen.answering.generating)
        first = app.screen.session_id
        await until(pilot, lambda: "This session expired" in screen_text(app), what="the expiry notice")
        assert app.screen.session_id is None
        await pilot.press(*"second", "enter")
        await until(pilot, lambda: app.screen.session_id and not app.screen.answering.generating)
        assert app.screen.session_id != first
    store.close()


async def test_opening_a_session_restarts_its_ttl(settings, memory_store):
    from ragtui.tui.widgets.session_browser import SessionBrowser

    sid = memory_store.create_session("alice", title="old chat")
    memory_store.add_message(sid, "user", "hello")
    memory_store.extend_session(sid, 100)  # as if idle for most of the hour
    app = make_app(settings, memory_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.screen.answering.model_ready)
        app.screen.post_message(SessionBrowser.SessionSelected(memory_store.get_session(sid)))
        await until(pilot, lambda: app.screen.session_id == sid, what="the session to open")
        assert memory_store.ttl(sid) > 3500  # opening it is activity, as the guide says
        assert str(app.query_one(TtlCountdown).render()) in ("TTL 1:00:00", "TTL 59:59")
