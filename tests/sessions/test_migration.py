"""Sessions written by the release before layout v2 (its store, vendored) come through the
upgrade whole: every message, title, pin and the time left — in Redis, once and only once,
however many processes start at the same time, and in the local journal."""
from __future__ import annotations

import subprocess
import sys
import time

import fakeredis
import pytest
import redis

from ragtui.sessions import open_store
from ragtui.sessions.journal import Journal
from ragtui.sessions.keys import Keys, LegacyKeys
from tests.sessions.legacy_v1_store import SessionStore as LegacyStore

SOURCES = ({"n": 1, "source": "guide.md", "location": "chars 0-80"},)


def fill(store) -> dict[str, dict]:
    """Sessions of two users through the old store's own calls; what each must keep."""
    made = {}
    plain = store.create_session("alice")
    store.add_message(plain, "user", "How do I pin a chat?")
    store.add_message(plain, "assistant", "Press p [1].", SOURCES)
    pinned = store.create_session("alice", "Keep me")
    store.add_message(pinned, "user", "remember this")
    store.pin_session(pinned)
    renamed = store.create_session("bob")
    store.add_message(renamed, "user", "first title")
    store.rename_session(renamed, "a better title")
    short = store.create_session("bob", "short-lived")
    store.extend_session(short, 600)
    empty = store.create_session("bob", "nothing said yet")
    for sid in (plain, pinned, renamed, short, empty):
        session = store.get_session(sid)
        made[sid] = {"user": session.user_id, "title": session.title, "pinned": session.pinned,
                     "ttl": session.ttl, "messages": [m.to_dict() for m in store.get_conversation_history(sid)]}
    return made


def check(store, made: dict[str, dict]) -> None:
    for sid, want in made.items():
        session = store.get_session(sid)
        assert session is not None, sid
        assert (session.user_id, session.title, session.pinned) == (want["user"], want["title"], want["pinned"])
        if want["ttl"] is None:
            assert session.ttl is None
        else:  # the time left, not a fresh countdown
            assert want["ttl"] - 30 <= session.ttl <= want["ttl"]
        assert [m.to_dict() for m in store.get_conversation_history(sid)] == want["messages"]
    stats = store.get_session_stats()
    assert (stats.sessions, stats.messages, stats.users) == (
        len(made), sum(len(w["messages"]) for w in made.values()), len({w["user"] for w in made.values()}))


@pytest.fixture
def v1_redis(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    made = fill(LegacyStore(client, backend="redis", ttl=3600))
    yield redis_url, client, made
    client.close()


def test_the_first_start_moves_every_v1_session(v1_redis, tmp_path):
    url, client, made = v1_redis
    old = LegacyKeys()
    assert client.zcard(old.all_sessions) == len(made)

    alice = open_store(url, data_dir=tmp_path / "data", user="alice")  # the first start migrates
    assert client.get(Keys().layout) == "2"
    assert not client.keys("ragtui:session:*") and not client.keys("ragtui:user:*")
    assert not client.exists(old.all_sessions)
    check(open_store(url, data_dir=tmp_path / "data"), made)  # everyone's, as the admin sees them
    mine = {sid for sid, w in made.items() if w["user"] == "alice"}
    assert {s.id for s in alice.get_all_active_sessions()} == mine
    assert all(alice.get_session(sid) is None for sid in made.keys() - mine)  # bob's: not found for alice
    plain = next(sid for sid, w in made.items() if w["title"] == "How do I pin a chat?")
    alice.add_message(plain, "user", "and after the upgrade?")  # chats go on where they were
    assert alice.get_session(plain).message_count == 3


def test_migrating_again_changes_nothing(v1_redis, tmp_path):
    url, client, made = v1_redis
    store = open_store(url, data_dir=tmp_path / "data")
    assert store.primary.migrate_layout() == 0
    LegacyStore(client, backend="redis").create_session("carol", "written by an old ragtui after the upgrade")
    assert store.primary.migrate_layout() == 1  # a straggler is moved too; the rest stay as they are
    assert len(store.get_all_active_sessions(None, limit=100)) == len(made) + 1


def test_two_processes_migrating_at_once_keep_everything_once(v1_redis, tmp_path):
    url, client, made = v1_redis
    script = ("import sys; from ragtui.sessions import open_store; "
              "s = open_store(sys.argv[1], data_dir=sys.argv[2]); print(s.primary.migrate_layout())")
    runs = [subprocess.Popen([sys.executable, "-c", script, url, str(tmp_path / f"d{i}")],
                             stdout=subprocess.PIPE, text=True) for i in range(2)]
    moved = [int(run.communicate(timeout=60)[0].split()[-1]) for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert sum(moved) <= len(made)  # (a process that started late finds them moved on open)
    check(open_store(url, data_dir=tmp_path / "data"), made)


def test_a_v1_local_journal_reads_into_layout_v2(tmp_path):
    path = tmp_path / "data" / "store" / "sessions.journal"
    path.parent.mkdir(parents=True)
    journal = Journal(path)
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    made = fill(LegacyStore(client, backend="local", journal=journal, ttl=3600))
    journal.close()

    store = open_store("local", data_dir=tmp_path / "data")
    check(store, made)
    sid = next(iter(made))
    store.add_message(sid, "assistant", "still writable")
    store.close()
    assert open_store("local", data_dir=tmp_path / "data").get_conversation_history(sid)[-1].content == "still writable"


def test_remaining_ttl_is_kept_to_the_second(v1_redis, tmp_path):
    url, client, made = v1_redis
    short = next(sid for sid, w in made.items() if w["title"] == "short-lived")
    left_ms = client.pttl(LegacyKeys().meta(short))
    started = time.time()
    open_store(url, data_dir=tmp_path / "data")
    now_left = client.pttl(Keys().meta("bob", short))
    assert left_ms - (time.time() - started) * 1000 - 50 <= now_left <= left_ms


def test_the_migrate_command_says_what_it_did(v1_redis, capsys):
    from ragtui.cli import main

    url, client, made = v1_redis
    assert main(["--store", url, "--admin", "sessions", "migrate"]) == 0
    assert capsys.readouterr().out.strip() == "all sessions already use the current key layout"  # moved on open
    LegacyStore(client, backend="redis").create_session("carol", "an old ragtui's, after the upgrade")
    assert main(["--store", url, "--admin", "sessions", "migrate"]) == 0
    assert capsys.readouterr().out.strip() == "moved 1 session(s) to the current key layout"
    assert main(["--store", "memory", "sessions", "migrate"]) == 0
    assert capsys.readouterr().out.startswith("nothing to migrate")
