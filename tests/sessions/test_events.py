"""Live sync's listener against a real redis-server: notices, junk, and a server restart."""
from __future__ import annotations

import json
import queue

import redis

from ragtui.sessions.events import EventListener, SessionEvent, parse_event

WAIT = 10  # seconds a test waits for the listener before failing


def test_parse_event_takes_ragtuis_notices_and_ignores_the_rest():
    line = json.dumps({"user": "alice", "sid": "s1", "kind": "add", "id": "m1"})
    assert parse_event(line) == SessionEvent("alice", "s1", "add", "m1")
    assert parse_event(line.encode()) == SessionEvent("alice", "s1", "add", "m1")
    assert parse_event(json.dumps({"user": "a", "sid": "s", "kind": "rename"})).message_id is None
    for junk in ("not json", "[]", json.dumps({"user": "a", "sid": "s"}),
                 json.dumps({"user": "a", "sid": "s", "kind": "explode"}), None):
        assert parse_event(junk) is None


def test_hears_notices_and_resyncs_after_the_server_comes_back(redis_server, redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    publisher = redis.Redis.from_url(redis_url, decode_responses=True)
    heard: queue.Queue = queue.Queue()
    listener = EventListener(
        client, "ragtui:{u:alice}:events",
        on_event=lambda event: heard.put(event), on_resync=lambda: heard.put("resync"),
        on_lost=lambda: heard.put("lost"),
    ).start()
    try:
        assert heard.get(timeout=WAIT) == "resync"  # subscribed: read everything afresh
        publisher.publish("ragtui:{u:alice}:events", "garbage")  # ignored
        publisher.publish("ragtui:{u:bob}:events", json.dumps({"user": "bob", "sid": "b", "kind": "add"}))
        publisher.publish("ragtui:{u:alice}:events", json.dumps({"user": "alice", "sid": "s1", "kind": "add", "id": "m1"}))
        assert heard.get(timeout=WAIT) == SessionEvent("alice", "s1", "add", "m1")

        redis_server.restart()  # notices published while it was down are lost: resync
        assert [heard.get(timeout=WAIT), heard.get(timeout=WAIT)] == ["lost", "resync"]
        publisher.publish("ragtui:{u:alice}:events", json.dumps({"user": "alice", "sid": "s2", "kind": "clear"}))
        assert heard.get(timeout=WAIT) == SessionEvent("alice", "s2", "clear", None)
        assert heard.empty()
    finally:
        listener.close()
        client.close()
        publisher.close()
    assert not listener._thread.is_alive()


def _heard_from(store, user: str) -> tuple[EventListener, queue.Queue]:
    heard: queue.Queue = queue.Queue()
    listener = EventListener(store.event_client(), store.keys.events(user), sharded=store.sharded,
                             on_event=heard.put, on_resync=lambda: heard.put("resync")).start()
    assert heard.get(timeout=WAIT) == "resync"
    return listener, heard


def _every_change(store, user: str, heard: queue.Queue) -> None:
    """Each kind of change the store makes is heard, in order, with its session (and message)."""
    sid = store.create_session(user)
    message = store.add_message(sid, "user", "hello")
    store.rename_session(sid, "greetings")
    store.pin_session(sid)
    store.unpin_session(sid)
    store.extend_session(sid, ttl=7200)  # later than now: a change (one at the same deadline is none)
    store.clear_session(sid)
    got = [heard.get(timeout=WAIT) for _ in range(7)]
    assert got == [SessionEvent(user, sid, kind, message.id if kind == "add" else None)
                   for kind in ("create", "add", "rename", "pin", "unpin", "extend", "clear")]


def test_the_store_publishes_every_change_on_its_owners_channel(redis_url, tmp_path):
    from ragtui.sessions import open_store

    store = open_store(redis_url, user="alice", data_dir=tmp_path)
    bob = open_store(redis_url, user="bob", data_dir=tmp_path / "bob")
    listener, heard = _heard_from(store, "alice")
    try:
        bob.create_session("bob")  # another user's channel: not heard here
        _every_change(store, "alice", heard)
        assert heard.empty()
    finally:
        listener.close()
        store.close()
        bob.close()


def test_on_a_cluster_changes_go_out_on_sharded_pubsub(cluster_url, tmp_path):
    from ragtui.sessions import open_store

    store = open_store(cluster_url, user="alice", data_dir=tmp_path)
    assert store.sharded
    listener, heard = _heard_from(store, "alice")
    try:
        _every_change(store, "alice", heard)
    finally:
        listener.close()
        store.close()
