"""Layout v2 on a real Redis: keys by owner, a store acting for one user, counters that stay
exact through expiry, paging and search, and one event per change."""
from __future__ import annotations

import json

import pytest
import redis

from ragtui.sessions import SessionNotFound, StoreError, open_store
from ragtui.sessions.events import parse_event
from ragtui.sessions.keys import Keys, tag


@pytest.fixture
def raw(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def test_one_users_keys_share_one_slot_and_nothing_else_is_written(redis_url, raw, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data", user="alice")
    sid = store.create_session("alice")
    store.add_message(sid, "user", "hello")
    store.pin_session(sid)
    mine = [k for k in raw.keys("*") if "{u:alice}" in k]
    assert len({redis.cluster.key_slot(k.encode()) for k in mine}) == 1
    assert sorted(raw.keys("*")) == sorted(mine + [Keys().layout, Keys().all_sessions, Keys().owners, Keys().users])


def test_a_user_id_cannot_reach_into_another_users_keys():
    keys = Keys()
    assert tag("a}:b") == "{u:a%7D%3Ab}" and tag("*") == "{u:%2A}"
    assert not keys.meta("a}:x", "s").startswith(keys.user_prefix("a") + ":")


def test_a_store_acting_for_bob_does_not_find_alices_sessions(redis_url, tmp_path):
    alice = open_store(redis_url, data_dir=tmp_path / "a", user="alice")
    bob = open_store(redis_url, data_dir=tmp_path / "b", user="bob")
    sid = alice.create_session("alice", "alice's")
    alice.add_message(sid, "user", "private")
    assert bob.get_session(sid) is None and bob.get_messages(sid) == [] and bob.owner_of(sid) is None
    for change in (lambda: bob.add_message(sid, "user", "hi"), lambda: bob.rename_session(sid, "x"),
                   lambda: bob.pin_session(sid), lambda: bob.unpin_session(sid), lambda: bob.extend_session(sid),
                   lambda: bob.ttl(sid)):
        with pytest.raises(SessionNotFound):
            change()
    assert bob.clear_session(sid) is False
    assert bob.search_sessions("bob", "private") == [] and bob.get_all_active_sessions() == []
    with pytest.raises(StoreError, match="admin"):
        bob.get_all_active_sessions("alice")
    with pytest.raises(StoreError, match="admin"):
        bob.create_session("alice")
    admin = open_store(redis_url, data_dir=tmp_path / "c")
    assert admin.owner_of(sid) == "alice" and admin.get_session(sid).title == "alice's"
    assert [m.content for m in admin.get_conversation_history(sid)] == ["private"]


@pytest.mark.parametrize("where", ["redis", "cluster", "local"])
def test_no_user_can_create_a_session_under_an_id_another_user_holds(make_store, where):
    alice = make_store(where, user="alice")
    sid = alice.create_session("alice", "alice's")
    alice.add_message(sid, "user", "private")
    bob = make_store(where, user="bob")
    with pytest.raises(StoreError, match="taken by another user"):
        bob.create_session("bob", "bob's", session_id=sid)
    assert alice.create_session("alice", session_id=sid) == sid  # the owner making it again: nothing changes
    admin = make_store(where)
    assert admin.owner_of(sid) == "alice" and admin.get_session(sid).title == "alice's"
    assert [m.content for m in admin.get_conversation_history(sid)] == ["private"]
    assert [s.id for s in admin.get_all_active_sessions()] == [sid] and admin.count_sessions() == 1
    assert bob.get_all_active_sessions() == [] and bob.get_session(sid) is None


def test_counts_are_exact_through_trimming_deleting_and_expiry(redis_url, raw, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data", max_messages=3)
    a = store.create_session("alice")
    for i in range(5):
        store.add_message(a, "user", f"m{i}")  # trimmed to 3
    b = store.create_session("bob")
    store.add_message(b, "user", "one")
    gone = store.create_session("bob")
    store.add_message(gone, "user", "soon gone")
    stats = store.get_session_stats()
    assert (stats.sessions, stats.messages, stats.users) == (3, 5, 2)
    # what Redis leaves once its deadline has passed: keys gone, index entries still there
    raw.delete(Keys().meta("bob", gone), Keys().messages("bob", gone), Keys().ids("bob", gone))
    raw.zadd(Keys().expiry("bob"), {gone: 1000})
    assert store.count_sessions() == 2 and store.get_session_stats().messages == 4
    assert store.count_sessions("bob") == 1
    store.clear_session(b)
    stats = store.get_session_stats()
    assert (stats.sessions, stats.messages, stats.users) == (1, 3, 1)
    assert raw.zcard(Keys().all_sessions) == 1  # the admin listing was pruned too


def test_listing_pages_cover_everything_once(redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data", user="carol")
    made = [store.create_session("carol", f"chat {i}") for i in range(7)]
    pages = [store.get_all_active_sessions(None, 3, offset) for offset in (0, 3, 6)]
    assert [s.id for page in pages for s in page] == made[::-1]
    assert store.count_sessions() == 7


def test_search_yields_its_first_matches_page_by_page(redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data", user="dave")
    made = []
    for i in range(9):
        sid = store.create_session("dave", f"chat {i}")
        store.add_message(sid, "user", "needle here" if i % 4 == 0 else "nothing")
        made.append(sid)
    batches = store.iter_search_sessions("dave", "NEEDLE", page=4)
    assert [s.id for s in next(batches)] == [made[8]]  # the newest four, looked at first
    assert [s.id for batch in batches for s in batch] == [made[4], made[0]]
    assert [s.id for s in store.search_sessions("dave", "needle", limit=2)] == [made[8], made[4]]


def test_the_admin_finds_any_users_session_by_user_id_or_title(redis_url, tmp_path):
    admin = open_store(redis_url, data_dir=tmp_path / "data")
    old = admin.create_session("erin", "Quarterly report")
    for i in range(5):
        admin.create_session(f"user{i}", f"chat {i}")
    assert [s.id for s in admin.find_sessions("quarterly")] == [old]
    assert [s.user_id for s in admin.find_sessions("erin")] == ["erin"]
    assert [s.id for s in admin.find_sessions(old[:10])] == [old]
    assert len(admin.find_sessions("chat", limit=2, offset=4)) == 1
    assert admin.find_sessions("*") == admin.find_sessions("chat ?") == []  # text, not a pattern


def test_every_change_publishes_one_event_on_the_owners_channel(redis_url, raw, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data", user="frank")
    listener = raw.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(store.keys.events("frank"))
    listener.get_message(timeout=1)
    before = store.user_version("frank")
    sid = store.create_session("frank")
    message = store.add_message(sid, "user", "hi")
    store.rename_session(sid, "t")
    store.set_session_model(sid, "m")
    store.set_session_model(sid, "m")  # no change: no event
    store.pin_session(sid)
    store.unpin_session(sid)
    store.extend_session(sid, ttl=7200)  # later than now: a change
    store.clear_session(sid)
    events = []
    while (event := listener.get_message(timeout=1)) is not None:
        events.append(json.loads(event["data"]))
    listener.close()
    assert [e["kind"] for e in events] == ["create", "add", "rename", "model", "pin", "unpin", "extend", "clear"]
    assert all(parse_event(json.dumps(e)) is not None for e in events)  # each one a kind live sync knows
    assert all(e["sid"] == sid and e["user"] == "frank" for e in events)
    assert events[1]["id"] == message.id
    assert store.user_version("frank") == before + 8


def test_after_write_is_called_with_the_sessions_key(redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data", user="gina")
    seen = []
    store.primary.after_write = seen.append
    sid = store.create_session("gina")
    store.add_message(sid, "user", "hi")
    assert seen == [Keys().meta("gina", sid)] * 2


def test_the_admin_listing_gets_back_a_session_whose_listing_write_failed(redis_url, raw, tmp_path):
    admin = open_store(redis_url, data_dir=tmp_path / "data")
    kept, lost = admin.create_session("hank", "kept"), admin.create_session("hank", "lost")
    raw.zrem(Keys().all_sessions, lost)  # as if the write after the create script had failed
    raw.hdel(Keys().owners, lost)
    fresh = open_store(redis_url, data_dir=tmp_path / "other")  # knows no owners yet
    assert fresh.get_session_stats().sessions == 2  # the counters are the truth: they disagree, so…
    assert {s.id for s in fresh.get_all_active_sessions(None)} == {kept, lost}  # …it was put back
    assert fresh.owner_of(lost) == "hank"
