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
