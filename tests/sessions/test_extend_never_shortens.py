"""Activity extends a session, it never cuts one short: a device with the default TTL that
opens, extends or writes to a session another device keeps for a day leaves it the day
(QA Q28). Only an explicit `sessions extend ID --ttl N` sets a deadline as asked."""
from __future__ import annotations

import pytest

from ragtui.sessions import open_store
from tests.redis_server import RedisServer


def test_an_extend_at_the_stores_own_ttl_never_shortens_a_session(make_store, shared_backend):
    long_lived = make_store(shared_backend, ttl=86_400)
    session_id = long_lived.create_session("alice")
    default = make_store(shared_backend, ttl=3_600)

    assert default.extend_session(session_id) > 80_000  # the ctrl+t / open / admin 'e' path
    assert make_store(shared_backend, ttl=3_600).ttl(session_id) > 80_000  # also as replayed after a restart

    assert default.extend_session(session_id, ttl=60) <= 60  # asked for explicitly: set as asked
    assert 3_000 < default.extend_session(session_id) <= 3_600  # and now the store's own TTL is later


def test_a_session_that_never_expires_stays_so(make_store, shared_backend):
    forever = make_store(shared_backend, ttl=0)
    session_id = forever.create_session("alice")
    assert make_store(shared_backend, ttl=3_600).extend_session(session_id) is None


# ------------------------------------------------ adding a message is activity too
def deadlines(store, session_id):
    """When each of the session's keys expires (ms; -1 never): they expire together."""
    owner = store.owner_of(session_id)
    meta, messages, ids = store.keys.session_keys(owner, session_id)[:3]
    pipe = getattr(store, "primary", store).client.pipeline(transaction=False)  # Redis's, or the local one
    for key in (meta, messages, ids):
        pipe.pexpiretime(key)
    return pipe.execute()


@pytest.mark.parametrize("backend", ("redis", "cluster", "local"))
def test_a_message_from_a_device_with_a_shorter_ttl_never_shortens_a_session(make_store, backend):
    """A 24-hour session touched by a device with the default 1-hour TTL keeps its day: live,
    as another process catches up on the journal, and as replayed after a restart."""
    long_lived = make_store(backend, ttl=86_400)
    session_id = long_lived.create_session("alice")
    default = make_store(backend, ttl=3_600)

    default.add_message(session_id, "user", "asked from the phone")
    assert default.ttl(session_id) > 80_000
    assert long_lived.ttl(session_id) > 80_000
    assert make_store(backend, ttl=3_600).ttl(session_id) > 80_000
    first, *rest = deadlines(default, session_id)
    assert first > 0 and rest == [first, first]  # messages and ids expire with the session

    assert default.extend_session(session_id, ttl=60) <= 60  # `sessions extend ID --ttl 60`: exact
    default.add_message(session_id, "assistant", "answered")
    assert 3_000 < default.ttl(session_id) <= 3_600  # and now this device's TTL is the later one
    assert 3_000 < make_store(backend, ttl=86_400).ttl(session_id) <= 3_600


@pytest.mark.parametrize("backend", ("redis", "local"))
def test_a_message_never_gives_a_session_that_never_expires_a_deadline(make_store, backend):
    forever = make_store(backend, ttl=0)
    kept_for_good = forever.create_session("alice")
    pinned = make_store(backend, ttl=3_600).create_session("alice")
    default = make_store(backend, ttl=3_600)
    default.pin_session(pinned)
    for session_id in (kept_for_good, pinned):
        default.add_message(session_id, "user", "hello")
        assert default.ttl(session_id) is None
        assert make_store(backend, ttl=3_600).ttl(session_id) is None
        assert deadlines(default, session_id) == [-1, -1, -1]


@pytest.mark.parametrize("backend", ("redis", "local"))
def test_a_device_whose_sessions_never_expire_keeps_a_session_it_writes_to(make_store, backend):
    """Its TTL (0: never) is the latest of all: the same rule as an extend at the store's own."""
    session_id = make_store(backend, ttl=3_600).create_session("alice")
    make_store(backend, ttl=0).add_message(session_id, "user", "from the desktop")
    assert make_store(backend, ttl=3_600).ttl(session_id) is None


def test_a_message_saved_while_redis_was_down_never_shortens_the_session_on_replay(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    stores = []
    try:
        stores.append(open_store(server.url, data_dir=tmp_path / "desk", ttl=86_400))
        session_id = stores[0].create_session("alice")
        phone = open_store("auto", redis_url=server.url, data_dir=tmp_path / "phone", ttl=3_600)
        stores.append(phone)
        assert phone.get_session(session_id) is not None  # seen: writable while Redis is away
        server.kill()
        phone.add_message(session_id, "user", "saved locally")
        server.start()
        assert phone.sync()
        assert stores[0].ttl(session_id) > 80_000
        assert [m.content for m in stores[0].get_conversation_history(session_id)] == ["saved locally"]
    finally:
        for store in stores:
            store.close()
        server.stop()


def test_sessions_extend_sets_an_explicit_ttl_exactly_and_never_shortens_without_one(redis_url, tmp_path):
    from ragtui.cli import main

    desk = open_store(redis_url, data_dir=tmp_path / "desk", ttl=86_400)
    session_id = desk.create_session("alice")
    desk.close()
    argv = ["--store", redis_url, "--user", "alice", "--ttl", "3600", "sessions", "extend", session_id]
    assert main(argv) == 0  # at this device's 1 hour: the day stays
    store = open_store(redis_url, data_dir=tmp_path / "other", ttl=3_600)
    assert store.ttl(session_id) > 80_000
    assert main(argv + ["--ttl", "60"]) == 0  # asked for: exactly
    assert store.ttl(session_id) <= 60
    assert main(argv) == 0
    assert 3_500 < store.ttl(session_id) <= 3_600
    store.close()


def test_a_journal_written_before_adds_were_later_only_replays_as_it_was_written(make_store, tmp_path):
    """An add record without "later_only" (older releases) set its deadline as written: a
    reopened store ends where that release left the session."""
    import json
    import time

    desk = make_store("local", ttl=86_400)
    session_id = desk.create_session("alice")
    desk.close()
    old_add = {"op": "add", "sid": session_id, "user": "alice", "deadline": time.time() + 3_600,
               "msg": {"id": "0000000000a-00000001", "role": "user", "content": "old", "timestamp": time.time(),
                       "sources": []}}
    with open(tmp_path / "data" / "store" / "sessions.journal", "a", encoding="utf-8") as journal:
        journal.write(json.dumps(old_add) + "\n")
    reopened = make_store("local", ttl=86_400)
    assert 3_500 < reopened.ttl(session_id) <= 3_600
    assert [m.content for m in reopened.get_conversation_history(session_id)] == ["old"]


def test_an_extend_while_redis_is_down_reports_the_ttl_its_replay_will_leave(tmp_path):
    """Degraded, an extend is queued; the time left it reports follows the replay's rule: the
    store's TTL but never earlier than the deadline known here, or exactly an explicit TTL
    (chaos finding F2: it said this device's 1 hour of a session kept for a day)."""
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    stores = []
    try:
        desk = open_store(server.url, data_dir=tmp_path / "desk", ttl=86_400)
        stores.append(desk)
        day, pinned = desk.create_session("alice"), desk.create_session("alice")
        desk.pin_session(pinned)
        phone = open_store("auto", redis_url=server.url, data_dir=tmp_path / "phone", ttl=3_600)
        stores.append(phone)
        assert phone.get_session(day).ttl > 80_000 and phone.get_session(pinned).ttl is None  # known here
        server.kill()

        assert phone.extend_session(day) > 80_000  # ctrl+t / opening it: the day stays
        assert phone.get_session(day).ttl > 80_000
        assert phone.extend_session(pinned) is None
        phone.unpin_session(pinned)  # set to this device's TTL, as its replay will
        assert 3_500 < phone.extend_session(pinned) <= 3_600
        assert phone.extend_session(day, ttl=60) <= 60  # `sessions extend --ttl 60`: as asked
        assert 3_500 < phone.extend_session(day) <= 3_600  # now this device's TTL is the later
        assert phone.degraded

        server.start()
        assert phone.sync()
        assert 3_500 < desk.ttl(day) <= 3_600 and 3_500 < desk.ttl(pinned) <= 3_600
    finally:
        for store in stores:
            store.close()
        server.stop()
