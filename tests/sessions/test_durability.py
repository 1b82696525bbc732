"""Nothing acknowledged is lost: restarts, crashes, concurrent writers, Redis outages, bad data."""
from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys

import pytest
import redis

from ragtui.sessions import CorruptSession, open_store
from ragtui.sessions.keys import Keys
from tests.redis_server import RedisServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _writer(target, data_dir, sid, name, count):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sessions.writer", target, str(data_dir), sid, name, str(count)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )


def _target(shared_backend, request):
    return request.getfixturevalue("redis_url") if shared_backend == "redis" else "local"


@pytest.mark.slow  # 3-6 s (many frames, or real seconds of a TTL): make test, not test-fast
def test_concurrent_writers_lose_nothing_and_keep_their_order(shared_backend, request, tmp_path):
    target, data_dir = _target(shared_backend, request), tmp_path / "data"
    store = open_store(target, data_dir=data_dir)
    sid = store.create_session("alice")
    writers = [_writer(target, data_dir, sid, f"w{n}", 150) for n in range(4)]
    for w in writers:
        assert w.stdout.readline().strip() == "ready"
    for w in writers:  # release them together
        w.stdin.write("go\n")
        w.stdin.flush()
    for w in writers:
        assert w.wait(timeout=120) == 0
    contents = [m.content for m in store.get_conversation_history(sid)]
    assert len(contents) == 600
    for n in range(4):
        assert [c for c in contents if c.startswith(f"w{n}:")] == [f"w{n}:{i}" for i in range(150)]


def test_local_store_keeps_every_acknowledged_message_after_kill_9(tmp_path):
    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)
    sid = store.create_session("alice")
    store.close()
    writer = _writer("local", data_dir, sid, "w", 100_000)
    assert writer.stdout.readline().strip() == "ready"
    writer.stdin.write("go\n")
    writer.stdin.flush()
    acked = -1
    while acked < 50:
        acked = int(writer.stdout.readline().split()[1])
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    reopened = open_store("local", data_dir=data_dir)
    contents = [m.content for m in reopened.get_conversation_history(sid)]
    assert contents[: acked + 1] == [f"w:{i}" for i in range(acked + 1)]


def test_local_files_are_private(tmp_path):
    store = open_store("local", data_dir=tmp_path / "data")
    store.add_message(store.create_session("alice"), "user", "secret")
    journal = store.location
    assert stat.S_IMODE(os.stat(journal).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(journal)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700


def test_torn_last_record_is_skipped_with_a_warning(tmp_path, caplog):
    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "kept")
    store.close()
    with open(store.location, "ab") as journal:
        journal.write(b'{"op":"add","sid":"' + sid.encode() + b'","msg":{"id":"x","ro')  # no newline
    with caplog.at_level(logging.WARNING):
        reopened = open_store("local", data_dir=data_dir)
    assert "torn last record" in caplog.text
    assert [m.content for m in reopened.get_conversation_history(sid)] == ["kept"]
    reopened.add_message(sid, "user", "after the crash")
    reopened.close()
    again = open_store("local", data_dir=data_dir)
    assert [m.content for m in again.get_conversation_history(sid)] == ["kept", "after the crash"]


def test_journal_is_compacted_and_loses_nothing(tmp_path):
    from ragtui.sessions.journal import Journal

    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir, max_messages=20)
    store.journal.compact_slack = 20_000  # compact early so the test stays small
    sid = store.create_session("alice", "long chat")
    keep = store.create_session("bob", "pinned")
    store.pin_session(keep)
    for i in range(1000):
        store.add_message(sid, "user", f"message number {i} " + "x" * 50)
    size = os.path.getsize(store.location)
    assert size < 3 * 20_000 + 20 * 200  # bounded by the live data, not by 1,000 messages
    store.close()
    again = open_store("local", data_dir=data_dir, max_messages=20)
    assert [m.content.split()[2] for m in again.get_conversation_history(sid)] == [str(i) for i in range(980, 1000)]
    assert again.get_session(keep).pinned and again.ttl(keep) is None
    assert isinstance(again.journal, Journal)


def test_redis_with_appendonly_survives_a_server_restart(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    try:
        store = open_store(server.url, data_dir=tmp_path / "data")
        sid = store.create_session("alice")
        store.add_message(sid, "user", "before the restart")
        server.restart()  # SIGKILL and start again from the append-only file
        again = open_store(server.url, data_dir=tmp_path / "data")
        assert [m.content for m in again.get_conversation_history(sid)] == ["before the restart"]
        assert again.get_session(sid).user_id == "alice"
    finally:
        server.stop()


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    yield server
    server.stop()


def test_redis_outage_mid_conversation_loses_nothing(own_redis, tmp_path):
    store = open_store(own_redis.url, data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    store.add_message(sid, "user", "one")
    store.add_message(sid, "assistant", "two")
    assert [m.content for m in store.get_last_n_messages(sid, 10)] == ["one", "two"]

    own_redis.kill()
    store.add_message(sid, "user", "three")  # acknowledged while Redis is down
    store.add_message(sid, "assistant", "four")
    assert store.health.startswith("degraded")
    assert "degraded" in store.describe()
    assert [m.content for m in store.get_last_n_messages(sid, 10)] == ["one", "two", "three", "four"]
    new_sid = store.create_session("alice", "started offline")
    store.add_message(new_sid, "user", "offline question")

    own_redis.start()
    assert store.sync()  # what the background probe does once Redis answers
    assert [m.content for m in store.get_conversation_history(sid)] == ["one", "two", "three", "four"]
    assert store.health == "ok"
    direct = open_store(own_redis.url, data_dir=tmp_path / "elsewhere")  # another device
    assert [m.content for m in direct.get_conversation_history(sid)] == ["one", "two", "three", "four"]
    assert [m.content for m in direct.get_conversation_history(new_sid)] == ["offline question"]
    assert direct.get_session(new_sid).title == "started offline"


def test_pending_messages_survive_an_app_restart_during_the_outage(own_redis, tmp_path):
    store = open_store(own_redis.url, data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    store.add_message(sid, "user", "one")
    own_redis.kill()
    store.add_message(sid, "user", "two")
    store.close()  # the app quits while Redis is still down

    own_redis.start()
    again = open_store(own_redis.url, data_dir=tmp_path / "data")
    assert [m.content for m in again.get_conversation_history(sid)] == ["one", "two"]
    assert again.get_session_stats().server["pending_sessions"] == 0


def test_replay_does_not_duplicate_what_redis_already_has(own_redis, tmp_path):
    store = open_store(own_redis.url, data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    own_redis.kill()
    pending = store.add_message(sid, "user", "maybe delivered")
    own_redis.start()
    # the same message reached Redis by another path (e.g. an ack lost after EXEC)
    direct = open_store(own_redis.url, data_dir=tmp_path / "other")
    direct.add_message(sid, "user", pending.content, message_id=pending.id, timestamp=pending.timestamp)
    assert store.sync()
    assert [m.id for m in store.get_conversation_history(sid)] == [pending.id]


def test_unix_socket_urls_work(own_redis, tmp_path):
    store = open_store(f"unix://{own_redis.socket}", data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    store.add_message(sid, "user", "over a unix socket")
    over_tcp = open_store(own_redis.url, data_dir=tmp_path / "data")
    assert [m.content for m in over_tcp.get_conversation_history(sid)] == ["over a unix socket"]
    assert store.describe().startswith("Redis ✓ unix://")


def test_auto_mode_falls_back_to_local_and_says_so(tmp_path):
    store = open_store("auto", redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path / "data")
    assert store.health.startswith("degraded")  # saving locally, to replay into Redis later
    assert "unreachable" in store.describe() and "127.0.0.1:1" in store.fallback_reason
    store.close()


def test_redis_mode_refuses_an_unreachable_server(tmp_path):
    from ragtui.sessions import StoreUnavailable

    with pytest.raises(StoreUnavailable, match="127.0.0.1:1"):
        open_store("redis", redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path / "data")


def test_foreign_and_corrupt_keys_are_contained(redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data")
    good = store.create_session("alice", "good")
    wrong_type = store.create_session("alice", "wrong type")
    garbled = store.create_session("alice", "garbled")
    store.add_message(garbled, "user", "fine")
    raw = redis.Redis.from_url(redis_url)
    keys = Keys("ragtui")
    raw.delete(keys.meta("alice", wrong_type))
    raw.set(keys.meta("alice", wrong_type), "not a hash")
    raw.rpush(keys.messages("alice", garbled), "{not json")
    raw.set("ragtui:something-else", "a foreign key under our namespace")
    raw.zadd(keys.sessions("alice"), {"ghost": 1})  # index entry with no session

    with pytest.raises(CorruptSession, match=wrong_type):
        store.get_session(wrong_type)
    with pytest.raises(CorruptSession, match=garbled):
        store.get_conversation_history(garbled)
    listed = [s.id for s in store.get_all_active_sessions("alice")]
    assert good in listed and garbled in listed and wrong_type not in listed
    assert store.get_session(good).title == "good"
    store.add_message(good, "user", "other sessions keep working")
    assert store.clear_session(wrong_type)  # and an operator can remove the bad one
    assert store.get_session_stats().sessions == 2
