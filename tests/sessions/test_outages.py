"""Redis outages that real machines have (issue 9): a start-up outage, a paused server,
replays that could duplicate, settings changed while degraded, a Redis out of memory.

Each test drives a real redis-server of its own (killed, paused, restarted, starved)."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import redis

from ragtui.cli import main
from ragtui.sessions import CorruptSession, SessionNotFound, StoreError, StoreUnavailable
from ragtui.sessions import failover
from ragtui.sessions import open_store as _open_store
from ragtui.sessions.keys import Keys
from tests.redis_server import RedisServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)  # in case a test left it paused
    server.stop()


@pytest.fixture(autouse=True)
def closing():
    """Every store a test opens is closed after it (a degraded one runs a probe thread)."""
    opened = []
    yield opened
    for store in opened:
        store.close()


@pytest.fixture
def open_store(closing):
    def open_(*args, **kwargs):
        store = _open_store(*args, **kwargs)
        closing.append(store)
        return store

    return open_


def contents(store, sid):
    return [m.content for m in store.get_conversation_history(sid)]


# ------------------------------------------------------------ 1. start-up outage
def test_sessions_written_during_a_start_up_outage_are_listed_and_replayed(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    own_redis.kill()
    store = open_store("auto", redis_url=own_redis.url, data_dir=data)
    sid = store.create_session("alice", "offline chat")
    store.add_message(sid, "user", "written while Redis was down")
    assert [s.id for s in store.get_all_active_sessions("alice")] == [sid]
    assert [s.id for s in store.search_sessions("alice", "while redis")] == [sid]
    with pytest.raises(StoreUnavailable):
        store.ttl(sid)  # unknown, not expired
    store.close()

    own_redis.start()
    again = open_store("auto", redis_url=own_redis.url, data_dir=data)
    direct = open_store(own_redis.url, data_dir=tmp_path / "another-device")
    for view in (again, direct):
        assert [s.id for s in view.get_all_active_sessions("alice")] == [sid]
        assert [s.id for s in view.search_sessions("alice", "while redis")] == [sid]
        assert contents(view, sid) == ["written while Redis was down"]
        assert view.get_session(sid).title == "offline chat"
    assert 3590 <= direct.ttl(sid) <= 3600
    assert again.health == "ok"


def test_a_running_store_replays_a_start_up_outage_once_redis_answers(open_store, own_redis, tmp_path):
    own_redis.kill()
    store = open_store("auto", redis_url=own_redis.url, data_dir=tmp_path / "data")
    store.probe_interval = 0.05
    sid = store.create_session("alice")
    store.add_message(sid, "user", "hello")
    own_redis.start()
    assert store.wait_synced(timeout=30)  # the background probe saw Redis and replayed
    direct = open_store(own_redis.url, data_dir=tmp_path / "another-device")
    assert contents(direct, sid) == ["hello"]
    assert store.health == "ok"
    store.close()


def test_a_session_another_process_saved_offline_is_not_called_expired(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    other = open_store(own_redis.url, data_dir=data)  # started while Redis was up
    own_redis.kill()
    offline = open_store("auto", redis_url=own_redis.url, data_dir=data)
    sid = offline.create_session("alice", "made offline")
    offline.add_message(sid, "user", "from the offline process")
    offline.close()
    own_redis.start()
    assert other.get_session(sid).title == "made offline"  # pending, not "expired"
    other.add_message(sid, "user", "from the other one")  # queued behind the pending one
    assert other.sync()
    direct = open_store(own_redis.url, data_dir=tmp_path / "another-device")
    assert contents(direct, sid) == ["from the offline process", "from the other one"]


def test_a_message_saved_locally_stays_shown_when_another_process_replays_it(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    store = open_store(own_redis.url, data_dir=data)
    store.probe_interval = 3600  # this process does not see Redis come back during the test
    sid = store.create_session("alice")
    store.add_message(sid, "user", "one")
    assert contents(store, sid) == ["one"]
    own_redis.kill()
    store.add_message(sid, "user", "two")
    own_redis.start()
    open_store(own_redis.url, data_dir=data)  # another process replays the shared outbox
    assert contents(store, sid) == ["one", "two"]


def test_a_write_racing_another_process_replaying_its_session_is_saved_not_called_expired(
        open_store, own_redis, tmp_path, monkeypatch):
    """Bench finding F4: another process replayed the session out of the shared outbox between
    this one's look (the session is there) and its write (it is gone): SessionNotFound for a
    live session of its own."""
    monkeypatch.setattr(failover, "PROBE_INTERVAL", 3600)  # this process stays degraded throughout
    data = tmp_path / "data"
    own_redis.kill()
    store = open_store("auto", redis_url=own_redis.url, data_dir=data)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "one")
    own_redis.start()
    write_to_outbox = store.outbox.add_message

    def another_process_replays_first(*args, **kwargs):
        monkeypatch.setattr(store.outbox, "add_message", write_to_outbox)  # once
        open_store("auto", redis_url=own_redis.url, data_dir=data).close()  # replays the outbox on open
        return write_to_outbox(*args, **kwargs)

    monkeypatch.setattr(store.outbox, "add_message", another_process_replays_first)
    store.add_message(sid, "user", "two")
    assert store.sync()
    assert contents(open_store(own_redis.url, data_dir=tmp_path / "other"), sid) == ["one", "two"]


def test_a_listing_racing_another_process_replaying_a_pending_session_still_lists_it(
        open_store, own_redis, tmp_path, monkeypatch):
    """Chaos soak (stop 14): the reader's listing raised SessionNotFound when another process
    replayed a pending session out of the shared outbox between the look and the read of
    its queued changes."""
    monkeypatch.setattr(failover, "PROBE_INTERVAL", 3600)  # this process stays degraded throughout
    data = tmp_path / "data"
    store = open_store("auto", redis_url=own_redis.url, data_dir=data)
    sid = store.create_session("alice", "listed")
    assert [s.id for s in store.get_all_active_sessions("alice")] == [sid]
    own_redis.kill()
    store.rename_session(sid, "renamed offline")  # queued in the outbox
    own_redis.start()
    look = store.outbox.get_session

    def another_process_replays_after_the_look(session_id):
        monkeypatch.setattr(store.outbox, "get_session", look)  # once
        found = look(session_id)
        open_store("auto", redis_url=own_redis.url, data_dir=data).close()  # replays the outbox on open
        return found

    monkeypatch.setattr(store.outbox, "get_session", another_process_replays_after_the_look)
    assert [s.id for s in store.get_all_active_sessions("alice")] == [sid]  # was SessionNotFound
    assert store.sync()
    assert open_store(own_redis.url, data_dir=tmp_path / "other").get_session(sid).title == "renamed offline"


def test_a_session_made_offline_and_replayed_by_another_process_still_takes_writes(
        open_store, own_redis, tmp_path, monkeypatch):
    monkeypatch.setattr(failover, "PROBE_INTERVAL", 3600)
    data = tmp_path / "data"
    own_redis.kill()
    store = open_store("auto", redis_url=own_redis.url, data_dir=data)
    sid = store.create_session("alice", "made offline")
    own_redis.start()
    open_store("auto", redis_url=own_redis.url, data_dir=data).close()  # replays it into Redis
    store.add_message(sid, "user", "still degraded here")  # was "not known here": it made it
    assert store.sync()
    direct = open_store(own_redis.url, data_dir=tmp_path / "other")
    assert contents(direct, sid) == ["still degraded here"]
    assert direct.get_session(sid).title == "made offline"


def test_a_session_made_offline_stays_shown_when_another_process_replays_it(open_store, own_redis, tmp_path, monkeypatch):
    monkeypatch.setattr(failover, "PROBE_INTERVAL", 3600)  # this process stays degraded throughout
    data = tmp_path / "data"
    own_redis.kill()
    store = open_store("auto", redis_url=own_redis.url, data_dir=data)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "made offline")  # never read back from Redis by this process
    own_redis.start()
    open_store("auto", redis_url=own_redis.url, data_dir=data).close()  # replays it out of the outbox
    assert store.degraded and contents(store, sid) == ["made offline"]


def test_sessions_an_older_version_kept_locally_are_moved_into_redis(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    old = open_store("local", data_dir=data)  # where older versions' auto mode put them
    sid = old.create_session("alice", "from an old outage")
    old.add_message(sid, "user", "one")
    old.add_message(sid, "assistant", "two")
    pinned = old.create_session("alice", "keep me")
    old.pin_session(pinned)
    old.close()

    store = open_store("auto", redis_url=own_redis.url, data_dir=data)
    assert contents(store, sid) == ["one", "two"]
    assert store.get_session(sid).title == "from an old outage"
    assert store.get_session(pinned).pinned and store.ttl(pinned) is None
    assert {s.id for s in store.get_all_active_sessions("alice")} == {sid, pinned}
    store.close()
    again = open_store("auto", redis_url=own_redis.url, data_dir=data)  # moved once, not twice
    assert contents(again, sid) == ["one", "two"]


def test_sessions_list_says_redis_is_unreachable_and_lists_what_is_pending(open_store, own_redis, tmp_path, capsys):
    store = open_store("auto", redis_url=own_redis.url, data_dir=tmp_path / "data")
    kept = store.create_session("alice", "kept in Redis")
    store.close()
    own_redis.kill()
    offline = open_store("auto", redis_url=own_redis.url, data_dir=tmp_path / "data")
    sid = offline.create_session("alice", "made offline")
    offline.close()
    code = main(["--redis-url", own_redis.url, "--user", "alice", "sessions", "list", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "unreachable" in err
    assert [s["id"] for s in json.loads(out)] == [sid]
    assert kept not in out
    main(["--redis-url", own_redis.url, "--user", "bob", "sessions", "list"])
    out, err = capsys.readouterr()
    assert out.strip() == "no sessions known on this machine" and "unreachable" in err


# ------------------------------------------------------------ 3. a paused Redis
def test_a_paused_redis_costs_one_short_wait_and_loses_nothing(open_store, own_redis, tmp_path):
    store = open_store(own_redis.url, data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    store.add_message(sid, "user", "before the pause")
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        store.add_message(sid, "user", "first while paused")  # meets the timeout, then saved locally
        first = time.monotonic() - started
        started = time.monotonic()
        for i in range(5):
            store.add_message(sid, "user", f"paused {i}")  # straight to the outbox
        later = time.monotonic() - started
        assert store.health.startswith("degraded")
        assert contents(store, sid)[-1] == "paused 4"  # reads don't wait on the paused server
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    store.close()
    open_store(own_redis.url, data_dir=tmp_path / "data")  # replays what is pending
    # the first call did reach Redis (it ran on SIGCONT) and is replayed too: never twice
    expected = ["before the pause", "first while paused"] + [f"paused {i}" for i in range(5)]
    assert contents(open_store(own_redis.url, data_dir=tmp_path / "other"), sid) == expected
    # regression guard, generous: each call used to wait 5-9 s (speed is measured in bench/chaos.py)
    assert first < 4 and later < 4


def test_a_paused_redis_is_not_asked_for_the_change_counter_until_the_probe_finds_it_back(
        open_store, own_redis, tmp_path, monkeypatch):
    """Live sync reads the change counter at every check: once a call met the paused Redis,
    the next ones answer "unknown" here at once (the app lists what this machine knows)
    instead of each waiting out the timeout; the background probe finds Redis back and
    replays what was saved meanwhile (issue 9)."""
    store = open_store(own_redis.url, data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    before = store.user_version("alice")
    asked = []
    real = store.primary.user_version
    monkeypatch.setattr(store.primary, "user_version", lambda user: asked.append(user) or real(user))
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        with pytest.raises(StoreUnavailable):
            store.user_version("alice")  # meets the timeout, once
        assert store.degraded and len(asked) == 1
        store.add_message(sid, "user", "while paused")
        for _ in range(5):
            with pytest.raises(StoreUnavailable, match="change counter is not known here"):
                store.user_version("alice")
        assert len(asked) == 1, "a degraded store asked the paused Redis again"
        assert contents(store, sid) == ["while paused"]
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert store.wait_synced(timeout=30), store.health  # the background probe replayed it
    assert store.user_version("alice") > before and len(asked) == 2
    assert contents(open_store(own_redis.url, data_dir=tmp_path / "other"), sid) == ["while paused"]


# ----------------------------------------------------------- 4. idempotent replay
def test_two_processes_replaying_one_outbox_store_each_message_once(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    store = open_store(own_redis.url, data_dir=data)
    sid = store.create_session("alice")
    own_redis.kill()
    for i in range(100):
        store.add_message(sid, "user", f"m{i}")
    store.close()
    own_redis.start()
    code = ("import sys; from ragtui.sessions import open_store; "
            "sys.stdin.readline(); open_store(sys.argv[1], data_dir=sys.argv[2]).close()")
    replayers = [
        subprocess.Popen([sys.executable, "-c", code, own_redis.url, str(data)], cwd=ROOT,
                         stdin=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for p in replayers:  # release them together
        p.stdin.write("go\n")
        p.stdin.flush()
    assert [p.wait(timeout=60) for p in replayers] == [0, 0]
    assert contents(open_store(own_redis.url, data_dir=tmp_path / "other"), sid) == [f"m{i}" for i in range(100)]


def test_a_retried_add_that_raised_but_reached_redis_is_stored_once(open_store, own_redis, tmp_path, monkeypatch):
    """Bench finding F3: Redis applied an add whose reply never came (paused), the outbox had no
    room for the local copy, so the caller was told "not saved". Its retry (the same text)
    carries the first attempt's id: stored once, whichever attempt landed."""
    from tests.sessions.test_journal_writes import disk_full

    store = open_store(own_redis.url, data_dir=tmp_path / "data", redis_timeout=0.2)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "before")  # (Redis has the script now: the call below runs as sent)
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        with disk_full(monkeypatch, short_first=False), pytest.raises(StoreError, match="no space left"):
            store.add_message(sid, "user", "did it land?")  # sent, then the wait ran out
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)  # Redis runs it now
    direct = open_store(own_redis.url, data_dir=tmp_path / "other")
    assert contents(direct, sid) == ["before", "did it land?"]  # the reply was lost, not the request
    store.add_message(sid, "user", "did it land?")  # the caller tries again
    store.add_message(sid, "user", "did it land?")  # and a new message with the same text is new
    assert store.sync()
    assert contents(direct, sid) == ["before", "did it land?", "did it land?"]


# ------------------------------------------- 5. settings changed while degraded
def test_rename_pin_unpin_and_extend_while_degraded_are_replayed_in_order(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    store = open_store(own_redis.url, data_dir=data)
    pinned = store.create_session("alice", "to pin")
    unpinned = store.create_session("alice", "to unpin")
    store.pin_session(unpinned)
    extended = store.create_session("alice", "to extend")
    store.add_message(pinned, "user", "hello")
    assert store.get_session(pinned).message_count == 1  # as the app shows it
    own_redis.kill()

    store.rename_session(pinned, "first name")
    store.add_message(pinned, "user", "while degraded")
    store.rename_session(pinned, "renamed offline")
    store.pin_session(pinned)
    store.unpin_session(unpinned)
    store.extend_session(extended, 7200)
    shown = store.get_session(pinned)
    assert shown.pinned and shown.title == "renamed offline" and shown.message_count == 2
    store.close()

    own_redis.start()
    again = open_store(own_redis.url, data_dir=data)  # replays on open
    direct = open_store(own_redis.url, data_dir=tmp_path / "other")
    session = direct.get_session(pinned)
    assert session.title == "renamed offline" and session.pinned and direct.ttl(pinned) is None
    assert contents(direct, pinned) == ["hello", "while degraded"]
    assert not direct.get_session(unpinned).pinned and 3590 <= direct.ttl(unpinned) <= 3600
    assert 7190 <= direct.ttl(extended) <= 7200
    assert again.get_session_stats().server["pending_sessions"] == 0


def test_a_delete_while_degraded_is_refused_not_queued(open_store, own_redis, tmp_path):
    store = open_store(own_redis.url, data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    own_redis.kill()
    store.add_message(sid, "user", "pending")
    with pytest.raises(StoreUnavailable, match="delete again"):
        store.clear_session(sid)
    own_redis.start()
    assert store.sync()
    assert contents(store, sid) == ["pending"]
    assert store.clear_session(sid)
    with pytest.raises(SessionNotFound):  # now Redis answered that it is gone
        store.ttl(sid)


# -------------------------------------------- 6. Redis refuses the replay (OOM)
def test_redis_out_of_memory_keeps_sessions_waiting_without_blocking_anything(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    store = open_store(own_redis.url, data_dir=data)
    first = store.create_session("alice", "first")
    second = store.create_session("alice", "second")
    store.add_message(first, "user", "one")
    own_redis.kill()
    store.add_message(first, "user", "pending one")
    store.add_message(second, "user", "pending two")
    store.close()
    own_redis.start()
    raw = redis.Redis.from_url(own_redis.url)
    raw.config_set("maxmemory", 1)  # every write is now refused: OOM

    again = open_store(own_redis.url, data_dir=data)  # the replay on open is refused
    assert "2 sessions waiting: Redis is out of memory" in again.health
    again.add_message(second, "user", "new while out of memory")  # still saved, locally
    third = again.create_session("alice", "third")
    again.add_message(third, "user", "another session")
    assert contents(again, second) == ["pending two", "new while out of memory"]
    assert contents(again, first) == ["one", "pending one"]

    raw.config_set("maxmemory", 0)
    assert again.sync()
    assert again.health == "ok"
    direct = open_store(own_redis.url, data_dir=tmp_path / "other")
    assert contents(direct, first) == ["one", "pending one"]
    assert contents(direct, second) == ["pending two", "new while out of memory"]
    assert contents(direct, third) == ["another session"]


def test_a_session_redis_holds_foreign_data_for_waits_alone(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    store = open_store(own_redis.url, data_dir=data)
    broken = store.create_session("alice", "broken")
    fine = store.create_session("alice", "fine")
    own_redis.kill()
    store.add_message(broken, "user", "pending")
    store.add_message(fine, "user", "pending too")
    store.close()
    own_redis.start()
    raw = redis.Redis.from_url(own_redis.url)
    raw.delete(Keys("ragtui").messages("alice", broken))
    raw.set(Keys("ragtui").messages("alice", broken), "not a list")  # replaying into it fails

    store = open_store(own_redis.url, data_dir=data)  # replays on open: one waits, one goes
    assert "1 session waiting" in store.health and broken in store.health
    assert contents(open_store(own_redis.url, data_dir=tmp_path / "other"), fine) == ["pending too"]
    store.add_message(fine, "user", "straight to Redis")  # the others are not held up
    assert contents(open_store(own_redis.url, data_dir=tmp_path / "other"), fine)[-1] == "straight to Redis"
    with pytest.raises(CorruptSession, match=broken):
        store.get_conversation_history(broken)
    assert store.clear_session(broken)  # how an operator repairs it; nothing waits any more
    assert store.health == "ok"


def test_the_redis_deadline_is_a_setting(redis_url, tmp_path):
    from ragtui.config import ConfigError, load_settings
    from ragtui.sessions import open_store_from_settings

    settings = load_settings({"store": redis_url, "data_dir": tmp_path / "data"}, env={"RAGTUI_REDIS_TIMEOUT": "0.25"})
    store = open_store_from_settings(settings)
    assert store.primary.client.connection_pool.connection_kwargs["socket_timeout"] == 0.25
    store.close()
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ConfigError, match="redis_timeout"):
            load_settings(env={"RAGTUI_REDIS_TIMEOUT": bad})


def test_a_wrong_password_is_not_an_outage_and_no_password_is_shown(open_store, own_redis, tmp_path):
    redis.Redis.from_url(own_redis.url).config_set("requirepass", "s3cret")
    wrong = own_redis.url.replace("redis://", "redis://:wrong@")
    for target in ("auto", "redis"):  # refused in one line, not "saving locally" for ever
        with pytest.raises(StoreUnavailable, match="password") as refused:
            open_store(target, redis_url=wrong, data_dir=tmp_path / "data")
        assert "wrong" not in str(refused.value)
    store = open_store(own_redis.url.replace("redis://", "redis://:s3cret@"), data_dir=tmp_path / "data")
    store.add_message(store.create_session("alice"), "user", "hello")
    assert "s3cret" not in store.describe() and ":***@" in store.describe()


def test_another_users_pending_session_stays_theirs_on_a_shared_machine(open_store, own_redis, tmp_path):
    data = tmp_path / "data"  # one data dir, so one outbox, for both users of this machine
    bob = open_store(own_redis.url, data_dir=data, user="bob")
    sid = bob.create_session("bob", "bob's")
    own_redis.kill()
    bob.add_message(sid, "user", "pending and private")
    bob.close()

    alice = open_store("auto", redis_url=own_redis.url, data_dir=data, user="alice")
    assert alice.get_session(sid) is None and alice.get_messages(sid) == []
    assert alice.get_all_active_sessions() == [] and alice.search_sessions("alice", "private") == []
    with pytest.raises(SessionNotFound):
        alice.add_message(sid, "user", "into bob's chat")
    own_redis.start()
    assert alice.sync()  # alice's process replays bob's pending message into bob's keys
    admin = open_store(own_redis.url, data_dir=tmp_path / "admin")
    assert [m.content for m in admin.get_conversation_history(sid)] == ["pending and private"]
    assert admin.get_session(sid).user_id == "bob" and alice.get_session(sid) is None


def test_while_redis_is_down_a_user_cannot_write_to_a_session_id_they_never_saw(open_store, own_redis, tmp_path):
    data = tmp_path / "data"  # one machine, one outbox: alice's session, bob's store (QA Q12)
    alice = open_store(own_redis.url, data_dir=data, user="alice")
    sid = alice.create_session("alice", "alice's")
    alice.add_message(sid, "user", "alice original")
    assert alice.get_session(sid).message_count == 1  # alice's process has seen it
    own_redis.kill()

    bob = open_store("auto", redis_url=own_redis.url, data_dir=data, user="bob")
    for change in (lambda: bob.rename_session(sid, "hacked"), lambda: bob.pin_session(sid),
                   lambda: bob.unpin_session(sid), lambda: bob.extend_session(sid, 7200),
                   lambda: bob.add_message(sid, "user", "BOB INJECTED")):
        with pytest.raises(StoreUnavailable, match="not known here"):
            change()
    alice.rename_session(sid, "renamed offline")  # its owner's process knows it: queued
    own_redis.start()
    assert bob.sync() and alice.sync()

    admin = open_store(own_redis.url, data_dir=tmp_path / "admin")
    assert admin.owner_of(sid) == "alice" and admin.get_session(sid).title == "renamed offline"
    assert contents(admin, sid) == ["alice original"] and not admin.get_session(sid).pinned
    raw = redis.Redis.from_url(own_redis.url, decode_responses=True)
    assert not raw.keys("*{u:bob}*")


def test_a_pending_session_under_another_users_id_waits_and_is_never_merged(open_store, own_redis, tmp_path, caplog):
    data = tmp_path / "data"
    alice = open_store(own_redis.url, data_dir=data, user="alice")
    sid = alice.create_session("alice", "alice's")
    alice.add_message(sid, "user", "alice original")
    own_redis.kill()
    bob = open_store("auto", redis_url=own_redis.url, data_dir=data, user="bob")
    bob.create_session("bob", "bob's", session_id=sid)  # nothing to check against while Redis is down
    bob.add_message(sid, "user", "BOB INJECTED")
    own_redis.start()

    with caplog.at_level(logging.WARNING, logger="ragtui.sessions.failover"):
        assert not bob.sync()  # refused by Redis: parked, named
    assert sid in caplog.text and "taken by another user" in caplog.text
    assert "1 session waiting" in bob.health and sid in bob.health
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ragtui.sessions.failover"):
        assert not bob.sync()  # tried again at every probe, said once
    assert "stays pending" not in caplog.text and sid in bob.health
    admin = open_store(own_redis.url, data_dir=tmp_path / "admin")
    assert admin.owner_of(sid) == "alice" and admin.get_session(sid).title == "alice's"
    assert contents(admin, sid) == ["alice original"]
    assert [s.id for s in admin.get_all_active_sessions()] == [sid]
    assert not redis.Redis.from_url(own_redis.url, decode_responses=True).keys("*{u:bob}*")
