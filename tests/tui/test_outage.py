"""Unreachable is not expired (issue 9, case 2): while the store's Redis does not answer,
the open session stays open, its TTL shows as unknown, the stats don't pass a partial
count off as real, and everything resyncs by itself once Redis is back."""
from __future__ import annotations

from dataclasses import replace

from ragtui.sessions import StoreUnavailable, open_store
from ragtui.tui.widgets.chat_messages import AssistantMessage, Notice, UserMessage
from ragtui.tui.widgets.ttl_countdown import TtlCountdown
from tests.redis_server import RedisServer
from tests.tui.conftest import make_app, screen_text, until
from tests.tui.fakes import FakeChatService

UNKNOWN = "TTL ? (Redis unreachable)"
SIZE = (140, 40)  # wide enough for the stats pane


class OutageStore:
    """A real memory store whose 'Redis' can be switched off: while it is, the calls
    behave as the failover store's contract says (ttl unknown, writes kept locally,
    stats counting only what this process knows)."""

    def __init__(self, store) -> None:
        self._store = store
        self.down = False

    def __getattr__(self, name):
        return getattr(self._store, name)

    @property
    def fallback_reason(self) -> str | None:
        return "unreachable (redis://10.0.0.9:6379/0)" if self.down else None

    def ttl(self, sid):
        if self.down:
            raise StoreUnavailable("Redis at redis://10.0.0.9:6379/0: unreachable: time left unknown")
        return self._store.ttl(sid)

    def get_session_stats(self):
        stats = self._store.get_session_stats()
        if self.down:  # what an outbox knows: nothing kept only in Redis
            return replace(stats, health="degraded — saving locally: unreachable", sessions=0, messages=0)
        return stats


def stats_text(app) -> str:
    return str(app.query_one("#stats-store").render())


def ttl_text(app) -> str:
    return str(app.query_one(TtlCountdown).render())


def browser_text(app) -> str:
    options = app.query_one("#session-list")
    return "\n".join(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))


def shown(app) -> list[str]:
    return [w.text for w in app.query_one("#transcript").children if isinstance(w, (UserMessage, AssistantMessage))]


async def test_an_outage_leaves_the_session_open_with_an_unknown_ttl_then_resyncs(settings, memory_store):
    store = OutageStore(memory_store)
    app = make_app(settings, store, FakeChatService(memory_store, reply="yes"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.answering.model_ready)
        await pilot.press(*"q1", "enter")
        await until(pilot, lambda: screen.session_id and not screen.answering.generating)
        sid = screen.session_id
        await until(pilot, lambda: "sessions  1" in stats_text(app), what="the first stats")

        store.down = True
        await until(pilot, lambda: ttl_text(app) == UNKNOWN, what="the unknown TTL")
        await until(pilot, lambda: "? (Redis unreachable)" in stats_text(app), what="unknown counts")
        assert "sessions  0" not in stats_text(app) and "messages  0" not in stats_text(app)
        await until(pilot, lambda: "TTL ?" in browser_text(app), what="the browser's unknown TTL")
        await pilot.press(*"q2", "enter")  # answered in the same session, kept locally
        await until(pilot, lambda: len(app.query(AssistantMessage)) == 2 and not screen.answering.generating)
        assert screen.session_id == sid and ttl_text(app) == UNKNOWN
        assert not [n for n in app.query(Notice) if "expired" in str(n.render())]
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert UNKNOWN in screen_text(app)  # the status bar still has room for all of it at 80 columns
        await pilot.resize_terminal(*SIZE)

        store.down = False
        # A full hour from the last activity, give or take a loaded machine's seconds.
        await until(pilot, lambda: ttl_text(app) == "TTL 1:00:00" or ttl_text(app).startswith("TTL 59:"),
                    what="the TTL resync")
        await until(pilot, lambda: "sessions  1" in stats_text(app) and "messages  4" in stats_text(app),
                    what="the stats resync")
        assert screen.session_id == sid and shown(app) == ["q1", "yes", "q2", "yes"]
        await until(pilot, lambda: "TTL ?" not in browser_text(app), what="the browser's TTL")


async def test_redis_killed_and_restarted_under_the_open_session(settings, tmp_path):
    """The real thing: Redis (AOF) SIGKILLed mid-conversation, a question asked meanwhile,
    then Redis restarted on the same port."""
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    store = open_store(server.url, data_dir=settings.data_dir)
    try:
        app = make_app(settings, store, FakeChatService(store, reply="yes"))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await until(pilot, lambda: screen.answering.model_ready)
            await pilot.press(*"q1", "enter")
            await until(pilot, lambda: screen.session_id and not screen.answering.generating)
            sid = screen.session_id

            server.kill()
            await until(pilot, lambda: ttl_text(app) == UNKNOWN, what="the unknown TTL")
            await pilot.press(*"q2", "enter")
            await until(pilot, lambda: len(app.query(AssistantMessage)) == 2 and not screen.answering.generating)
            await until(pilot, lambda: "? (Redis unreachable)" in stats_text(app), what="unknown counts")
            assert screen.session_id == sid and ttl_text(app) == UNKNOWN
            assert not [n for n in app.query(Notice) if "expired" in str(n.render())]

            server.start()  # the prober replays q2 and its answer; the next polls resync
            await until(pilot, lambda: ttl_text(app).startswith(("TTL 1:00:00", "TTL 59:")), what="the resync")
            await until(pilot, lambda: "messages  4" in stats_text(app), what="the stats resync")
            assert screen.session_id == sid
            assert shown(app) == ["q1", "yes", "q2", "yes"]  # the replayed messages are known as ours
        check = open_store(server.url, data_dir=tmp_path / "elsewhere")
        assert [m.content for m in check.get_conversation_history(sid)] == ["q1", "yes", "q2", "yes"]
        check.close()
    finally:
        store.close()
        server.stop()


async def test_started_while_redis_is_down_the_browser_says_what_it_shows_and_why(settings, tmp_path):
    """QA Q35: auto mode started with Redis down showed an empty browser, no count, no reason
    (the change counter it reads first failed, so the listing was never read). It lists what
    this machine knows and says so, as `ragtui sessions list` does; the line goes once Redis is back."""
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    elsewhere = open_store(server.url, user=settings.user, data_dir=tmp_path / "elsewhere")
    for title in ("kept in redis 1", "kept in redis 2"):
        elsewhere.create_session(settings.user, title)
    elsewhere.close()
    server.kill()
    store = open_store("auto", redis_url=server.url, user=settings.user, data_dir=settings.data_dir)
    try:
        app = make_app(settings, store, FakeChatService(store, reply="yes"))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            count = app.query_one("#session-count")
            await until(pilot, lambda: str(count.render()) == "no sessions known on this machine: Redis is unreachable",
                        what="the reason in the browser")
            store.create_session(settings.user, "made here meanwhile")  # e.g. by `ragtui ask`: no notice
            await until(pilot, lambda: str(count.render()) == "1 session known on this machine: Redis is unreachable",
                        what="the listing of what this machine knows")
            assert "made here meanwhile" in browser_text(app)
            await until(pilot, lambda: screen.answering.model_ready)
            await pilot.press(*"q1", "enter")
            await until(pilot, lambda: screen.session_id and not screen.answering.generating)
            await until(pilot, lambda: str(count.render()) == "2 sessions known on this machine: Redis is unreachable",
                        what="the session asked in")
            assert browser_text(app).count("TTL ?") == 2
            await pilot.press("ctrl+f", *"made")  # a search: among what this machine knows too
            await until(pilot, lambda: str(count.render()) == "1 match known on this machine: Redis is unreachable",
                        what="the search's count")
            await pilot.press("escape")
            await until(pilot, lambda: str(count.render()) == "2 sessions known on this machine: Redis is unreachable",
                        what="the listing again")

            server.start()  # the prober replays both; the listing is read afresh
            await until(pilot, lambda: str(count.render()) == "4 sessions", what="Redis's listing")
            assert "TTL ?" not in browser_text(app) and "kept in redis 1" in browser_text(app)
    finally:
        store.close()
        server.stop()


def test_cli_stats_during_an_outage_do_not_pass_a_partial_count_off_as_real(capsys, monkeypatch):
    from ragtui import cli
    from tests.redis_server import free_port

    monkeypatch.setenv("RAGTUI_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    assert cli.main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "sessions  ? (Redis unreachable; 0 known here)" in out and "sessions  0\n" not in out
