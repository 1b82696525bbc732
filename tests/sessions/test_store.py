"""What every backend must do: the seed's API, sliding expiry, listings, search, stats."""
from __future__ import annotations

import json
import time

import pytest

from ragtui.sessions import SessionNotFound


def test_create_and_get_session(store):
    sid = store.create_session("alice", "Planning")
    session = store.get_session(sid)
    assert session.user_id == "alice"
    assert session.title == "Planning"
    assert session.message_count == 0
    assert 3590 <= session.ttl <= 3600
    assert not session.pinned
    assert store.get_session("no-such-session") is None


def test_session_ids_are_unguessable_and_unique(store):
    ids = {store.create_session("alice") for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) >= 20 for i in ids)


def test_messages_keep_order_sources_and_text(store):
    sid = store.create_session("alice")
    sources = [{"n": 1, "source": "guide.md", "location": "chars 0-120", "title": "Stores"}]
    store.add_message(sid, "user", "What is ragtui?")
    reply = store.add_message(sid, "assistant", "A terminal chat [1]. ünïcødé ✓", sources)
    history = store.get_conversation_history(sid)
    assert [m.role for m in history] == ["user", "assistant"]
    assert history[1].content == "A terminal chat [1]. ünïcødé ✓"
    assert history[1].sources == tuple(sources)
    assert history[1].id == reply.id
    assert history[0].timestamp <= history[1].timestamp


def test_title_comes_from_the_first_question(store):
    sid = store.create_session("alice")
    store.add_message(sid, "user", "  How do I   pin a session\nso it never expires? " + "x" * 100)
    store.add_message(sid, "user", "second question")
    title = store.get_session(sid).title
    assert title.startswith("How do I pin a session so it never expires?")
    assert len(title) <= 60


def test_last_n_messages_are_the_newest_oldest_first(store):
    sid = store.create_session("alice")
    for i in range(30):
        store.add_message(sid, "user", f"m{i}")
    assert [m.content for m in store.get_last_n_messages(sid, 3)] == ["m27", "m28", "m29"]
    assert store.get_last_n_messages(sid, 0) == []
    assert "User: m29" in store.format_history_as_context(sid, n=2)
    assert "m27" not in store.format_history_as_context(sid, n=2)


def test_history_is_capped_at_max_messages(make_store, backend):
    store = make_store(backend, max_messages=5)
    sid = store.create_session("alice")
    for i in range(12):
        store.add_message(sid, "user", f"m{i}")
    assert [m.content for m in store.get_conversation_history(sid)] == [f"m{i}" for i in range(7, 12)]
    assert store.get_session(sid).message_count == 5


def test_add_message_to_a_missing_session_fails_and_leaves_nothing(store):
    with pytest.raises(SessionNotFound):
        store.add_message("never-created", "user", "hello")
    sid = store.create_session("alice")
    store.clear_session(sid)
    with pytest.raises(SessionNotFound):
        store.add_message(sid, "user", "hello")
    assert store.get_session(sid) is None
    assert store.get_conversation_history(sid) == []


def test_unknown_role_is_refused(store):
    sid = store.create_session("alice")
    with pytest.raises(ValueError):
        store.add_message(sid, "wizard", "hi")


def test_clear_session(store):
    sid = store.create_session("alice")
    store.add_message(sid, "user", "hello")
    assert store.clear_session(sid) is True
    assert store.clear_session(sid) is False
    assert store.get_session(sid) is None
    assert store.get_all_active_sessions("alice") == []


def test_listing_is_per_user_most_recent_first(store):
    older = store.create_session("alice", "older")
    newer = store.create_session("alice", "newer")
    bob = store.create_session("bob", "bob's")
    store.add_message(older, "user", "bump")  # activity moves it to the top
    assert [s.id for s in store.get_all_active_sessions("alice")] == [older, newer]
    assert [s.id for s in store.get_all_active_sessions("bob")] == [bob]
    assert {s.id for s in store.get_all_active_sessions()} == {older, newer, bob}
    assert [s.id for s in store.get_all_active_sessions("alice", limit=1, offset=1)] == [newer]


def test_search_over_titles_and_message_content(store):
    a = store.create_session("alice", "Redis outage")
    b = store.create_session("alice")
    store.add_message(b, "user", "How does the Journal survive kill -9?")
    store.create_session("alice", "unrelated")
    store.add_message(store.create_session("bob"), "user", "journal")
    assert [s.id for s in store.search_sessions("alice", "redis")] == [a]
    assert [s.id for s in store.search_sessions("alice", "JOURNAL")] == [b]
    assert store.search_sessions("alice", "nothing like this") == []


def test_rename_and_pin(store):
    sid = store.create_session("alice", "old")
    store.rename_session(sid, "new title")
    store.pin_session(sid)
    session = store.get_session(sid)
    assert session.title == "new title"
    assert session.pinned and session.ttl is None
    store.add_message(sid, "user", "activity must not un-pin")
    assert store.ttl(sid) is None
    store.unpin_session(sid)
    assert 3590 <= store.ttl(sid) <= 3600
    with pytest.raises(SessionNotFound):
        store.rename_session("missing", "x")
    assert store.get_session("missing") is None  # renaming a missing session created nothing


def test_extend_session(store):
    sid = store.create_session("alice")
    assert 7190 <= store.extend_session(sid, ttl=7200) <= 7200
    assert 7190 <= store.extend_session(sid) <= 7200  # the store's own TTL never cuts it short
    assert 50 <= store.extend_session(sid, ttl=60) <= 60  # asked for: set as asked
    assert 3590 <= store.extend_session(sid) <= 3600
    with pytest.raises(SessionNotFound):
        store.extend_session("missing")
    with pytest.raises(SessionNotFound):
        store.ttl("missing")


def test_ttl_zero_means_never(make_store, backend):
    store = make_store(backend, ttl=0)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "hi")
    assert store.ttl(sid) is None
    assert store.get_session(sid).ttl is None


def _shift_clock(store, seconds):
    store.clock = lambda: time.time() + seconds
    if hasattr(store, "primary"):
        store.primary.clock = store.clock


def test_activity_slides_the_expiry(make_store, backend):
    store = make_store(backend, ttl=60)
    _shift_clock(store, -55)  # created 55 s ago: 5 s left
    sid = store.create_session("alice")
    assert store.ttl(sid) <= 5
    _shift_clock(store, 0)
    store.add_message(sid, "user", "still here")
    assert store.ttl(sid) >= 59


def test_expired_sessions_vanish_from_every_listing(make_store, backend):
    store = make_store(backend, ttl=60)
    alive = store.create_session("alice", "alive")
    _shift_clock(store, -120)  # these were last active two minutes ago: expired a minute ago
    dead = store.create_session("alice", "dead words")
    _shift_clock(store, 0)
    assert store.get_session(dead) is None
    assert [s.id for s in store.get_all_active_sessions("alice")] == [alive]
    assert [s.id for s in store.get_all_active_sessions()] == [alive]
    assert store.search_sessions("alice", "dead") == []
    assert store.get_session_stats().sessions == 1
    with pytest.raises(SessionNotFound):
        store.add_message(dead, "user", "too late")


def test_sessions_really_expire_after_idle_time(make_store, backend):
    store = make_store(backend, ttl=1)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "hi")
    time.sleep(1.2)  # the one test that waits: real expiry by the backend's own clock
    assert store.get_session(sid) is None
    assert store.get_all_active_sessions("alice") == []


def test_stats(store):
    sid = store.create_session("alice")
    for i in range(3):
        store.add_message(sid, "user", f"m{i}")
    store.get_last_n_messages(sid, 2)
    stats = store.get_session_stats()
    assert stats.backend in ("redis", "local", "memory")
    assert stats.health == "ok"
    assert (stats.sessions, stats.messages) == (1, 3)
    assert stats.latency_ms["add_message"]["n"] == 3
    assert stats.latency_ms["add_message"]["p50"] <= stats.latency_ms["add_message"]["p99"]
    json.dumps(stats.to_dict(), default=str)


def test_a_second_client_sees_the_same_sessions(make_store, shared_backend):
    first, second = make_store(shared_backend), make_store(shared_backend)
    sid = first.create_session("alice", "shared")
    first.add_message(sid, "user", "from device one")
    second.add_message(sid, "assistant", "from device two")
    assert [m.content for m in first.get_conversation_history(sid)] == ["from device one", "from device two"]
    assert [s.id for s in second.get_all_active_sessions("alice")] == [sid]


def test_memory_mode_keeps_nothing(make_store):
    store = make_store("memory")
    store.create_session("alice")
    assert make_store("memory").get_all_active_sessions("alice") == []
    assert "nothing is kept" in store.describe()


def test_a_message_keeps_one_id_and_is_stored_once(store):
    sid = store.create_session("alice")
    first = store.add_message(sid, "user", "hello", message_id="m-1")
    retried = store.add_message(sid, "user", "hello", message_id="m-1")  # a retry of a call that timed out
    store.add_message(sid, "assistant", "hi")
    assert retried.id == first.id == "m-1"
    assert [m.content for m in store.get_conversation_history(sid)] == ["hello", "hi"]
    assert store.get_session(sid).message_count == 2


def test_a_message_id_is_remembered_after_a_reopen(make_store, shared_backend):
    store = make_store(shared_backend)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "hello", message_id="m-1")
    store.close()
    again = make_store(shared_backend)
    again.add_message(sid, "user", "hello", message_id="m-1")
    assert [m.id for m in again.get_conversation_history(sid)] == ["m-1"]
