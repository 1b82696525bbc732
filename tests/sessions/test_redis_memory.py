"""A Redis that runs out of memory: doctor and the stats pane warn when its maxmemory-policy
may evict sessions, and a write it refuses (OOM) is kept in the local outbox and named as
"Redis is out of memory" — never lost, never called a corrupt session."""
from __future__ import annotations

import logging

import pytest
import redis

from ragtui.cli import main
from ragtui.config import load_settings
from ragtui.sessions import open_store
from tests.redis_server import RedisServer
from tests.tui.conftest import make_app, screen_text, until


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("memory-redis")).start()
    yield server
    server.stop()


@pytest.fixture
def server(own_server):
    """This module's server, emptied, with no memory limit and the default policy."""
    client = redis.Redis.from_url(own_server.url, decode_responses=True)
    client.flushall()
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    own_server.client = client
    yield own_server
    client.config_set("maxmemory", 0)
    client.close()


@pytest.mark.parametrize("policy, ok, says", [
    ("noeviction", True, "refuses writes and ragtui keeps them locally"),
    ("volatile-lru", True, "may drop sessions that have a TTL before it runs out (pinned ones"),
    ("allkeys-lru", False, "evicts any key, sessions and their messages included: set maxmemory-policy noeviction"),
    ("allkeys-random", False, "evicts any key"),
])
def test_doctor_says_whether_the_policy_can_evict_sessions(server, policy, ok, says, capsys):
    server.client.config_set("maxmemory-policy", policy)
    main(["--store", server.url, "doctor"])
    line = next(x for x in capsys.readouterr().out.splitlines() if "redis memory" in x)
    assert line.startswith("✓" if ok else "✗") and f"maxmemory-policy {policy}" in line and says in line


async def test_the_stats_pane_warns_when_sessions_can_be_evicted(server, tmp_path, monkeypatch):
    from ragtui.tui import live_sync

    for name in ("SAFETY_SECONDS", "STATS_SECONDS"):  # an idle pane reads the stats every 30 s
        monkeypatch.setattr(live_sync, name, 0.5)
    server.client.config_set("maxmemory-policy", "allkeys-lru")
    settings = load_settings({"store": server.url, "data_dir": tmp_path / "data"})
    store = open_store(server.url, data_dir=tmp_path / "data")
    app = make_app(settings, store)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "⚠ evicts  allkeys-lru may drop" in screen_text(app), what="the eviction warning")
        assert "use noeviction" in screen_text(app)  # on the next line of the narrow pane
        server.client.config_set("maxmemory-policy", "noeviction")
        await until(pilot, lambda: "may drop" not in screen_text(app), what="the warning to go")


def test_a_write_refused_for_lack_of_memory_is_kept_locally_and_named(server, tmp_path, capsys, caplog):
    store = open_store(server.url, data_dir=tmp_path / "data")
    sid = store.create_session("alice", "before")
    store.add_message(sid, "user", "stored in Redis")
    server.client.config_set("maxmemory", 1)  # every write is refused now: OOM

    with caplog.at_level(logging.WARNING, logger="ragtui.sessions.failover"):
        kept = store.add_message(sid, "user", "kept while Redis is full")  # acknowledged, not raised
    assert "Redis is out of memory" in store.health
    said = [r.getMessage() for r in caplog.records if "saving locally" in r.getMessage()]
    assert said == [f"Redis at {store.location}: Redis is out of memory: saving locally until it is back"]  # once
    assert [m.content for m in store.get_conversation_history(sid)][-1] == "kept while Redis is full"
    code = main(["--store", server.url, "--user", "alice", "--data-dir", str(tmp_path / "data"),
                 "sessions", "rename", sid, "renamed"])
    assert code == 0, capsys.readouterr().err
    assert "corrupt" not in store.health.lower()

    server.client.config_set("maxmemory", 0)
    assert store.sync()  # replayed once Redis takes writes again
    assert store.health == "ok"
    fresh = open_store(server.url, data_dir=tmp_path / "elsewhere")
    assert [m.id for m in fresh.get_conversation_history(sid)][-1] == kept.id
    assert fresh.get_session(sid).title == "renamed"
    fresh.close()
    store.close()
