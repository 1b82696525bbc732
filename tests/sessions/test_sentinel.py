"""The store behind Redis Sentinel (a master, its replica, one Sentinel, all real): reached by
a redis+sentinel:// URL, and no acknowledged message lost when Sentinel promotes the replica."""
from __future__ import annotations

import socket
import threading

import pytest

from ragtui.sessions.keys import Keys
from ragtui.sessions.models import StoreError
from tests.redis_server import SentinelServers, wait_until
from tests.sessions.replicated import acked_vs_stored


def test_a_sentinel_url_reaches_the_master_it_names(redis_sentinel, make_store):
    # the first Sentinel listed is down: the next one answers. Its port is held (bound, not
    # listening) so that no other test run's Sentinel can turn up there meanwhile.
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        url = redis_sentinel.url.replace("://", f"://127.0.0.1:{dead.getsockname()[1]},", 1)
        store = make_store(url, user="alice")
        assert store.describe() == f"Redis ✓ {url}"
        sid = store.create_session("alice", "via sentinel")
        store.add_message(sid, "user", "hello")
        store.add_message(sid, "assistant", "hi")
        assert [m.content for m in store.get_conversation_history(sid)] == ["hello", "hi"]
        assert [s.id for s in store.search_sessions("alice", "HELLO")] == [sid]
        assert store.wait_synced(timeout=30), store.health  # all in Redis (a slow replica: once re-sent)
    with redis_sentinel.current_master().client() as master:
        assert master.llen(Keys().messages("alice", sid)) == 2


@pytest.mark.parametrize("url, why", [
    ("redis+sentinel://127.0.0.1:26379", "name the master"),
    ("redis+sentinel://127.0.0.1:26379/a/b", "name the master"),
    ("redis+cluster://:7000", "is not host:port"),
    ("redis+cluster://:secret@127.0.0.1:7000,127.0.0.1:x", "is not host:port"),
    ("redis+cluster://[::1]:7000,[::1]:70x0", "is not host:port"),
])
def test_a_bad_deployment_url_is_one_clear_error(url, why, make_store):
    with pytest.raises(StoreError, match=why) as caught:
        make_store(url)
    assert "secret" not in str(caught.value)


def _switched(sentinel, service: str) -> tuple[threading.Event, threading.Thread]:
    """An event set when Sentinel announces the new master (+switch-master)."""
    pubsub = sentinel.client().pubsub()
    pubsub.subscribe("+switch-master")
    pubsub.get_message(timeout=5)  # the subscription is in place before the failover starts
    switched = threading.Event()

    def listen() -> None:
        for message in pubsub.listen():
            if message["type"] == "message" and message["data"].startswith(service + " "):
                switched.set()
                pubsub.close()
                return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    return switched, listener


@pytest.mark.slow  # a failover: make test, not test-fast
def test_a_sentinel_failover_loses_no_acknowledged_message(redis_sentinel, make_store):
    """SENTINEL FAILOVER while alice chats. Until the old master is turned into a replica it
    still takes writes, which its resync then throws away (before: 107 of 150 acked messages
    lost): with WAIT, none of those counts as saved in Redis — they are kept in the local outbox
    and re-sent to the new master."""
    # room for every message however long the promotion takes (the list keeps max_messages)
    store = make_store(redis_sentinel.url, user="alice", max_messages=100_000)
    sid = store.create_session("alice", "through a failover")
    old, new = redis_sentinel.master, redis_sentinel.replica
    acked = [store.add_message(sid, "user", f"before {i}").id for i in range(20)]

    switched, listener = _switched(redis_sentinel.sentinel, redis_sentinel.service)
    with redis_sentinel.sentinel.client() as sentinel:
        sentinel.execute_command("SENTINEL FAILOVER", redis_sentinel.service)
    while not switched.is_set() and len(acked) < 20_000:  # keep chatting through the promotion
        acked.append(store.add_message(sid, "user", f"during {len(acked)}").id)
    assert switched.is_set(), "Sentinel did not announce the new master"
    listener.join()
    # the old master still answers as a master: writes it takes now die with its resync
    acked += [store.add_message(sid, "user", f"old master up {i}").id for i in range(10)]
    assert old.role() == "master" and store.degraded  # they were kept locally instead
    assert "reached 0 of 1 Redis replica(s)" in store.health

    # what Sentinel does to the old master some 10 s later, done now to keep the test short
    with old.client() as client:
        client.replicaof("127.0.0.1", new.port)
    wait_until(old.link_up, "the old master to resync as a replica")
    acked += [store.add_message(sid, "user", f"after {i}").id for i in range(10)]
    assert store.wait_synced(timeout=30), store.health

    reader = make_store(redis_sentinel.url, user="alice")
    stored = [m.id for m in reader.get_conversation_history(sid)]
    lost, duplicated = acked_vs_stored("sentinel failover", acked, stored)
    assert (lost, duplicated) == (0, 0)
    assert stored == acked
    with new.client() as client:
        assert client.execute_command("ROLE")[0] == "master"


@pytest.mark.slow  # a failover: make test, not test-fast
def test_sentinels_down_at_start_in_auto_mode_keep_messages_until_they_answer(tmp_path, make_store):
    servers = SentinelServers(tmp_path / "later")  # ports chosen, nothing started yet
    store = make_store("auto", redis_url=servers.url, user="alice")
    assert store.degraded
    sid = store.create_session("alice", "offline first")
    acked = [store.add_message(sid, "user", f"offline {i}").id for i in range(5)]
    try:
        servers.start()
        assert store.wait_synced(timeout=30), store.health
        with servers.replica.client() as replica:  # acknowledged by Redis only once the replica had them
            assert replica.llen(Keys().messages("alice", sid)) == 5
        stored = [m.id for m in make_store(servers.url, user="alice").get_conversation_history(sid)]
        assert acked_vs_stored("sentinels down at start", acked, stored) == (0, 0)
    finally:
        servers.stop()


def test_the_password_in_a_sentinel_url_is_the_masters(tmp_path, make_store):
    """The Sentinels ask for no password; the master and its replica do (as they usually
    are set up): the URL's password goes to the master only, and is never shown."""
    servers = SentinelServers(tmp_path / "auth", password="s3cret-pass").start()
    try:
        store = make_store(servers.url, user="alice")
        assert "s3cret-pass" not in store.describe() and ":***@" in store.describe()
        sid = store.create_session("alice")
        store.add_message(sid, "user", "behind a password")
        assert [m.content for m in store.get_conversation_history(sid)] == ["behind a password"]
        assert store.wait_synced(timeout=30), store.health  # the replica had it: WAIT with the password
    finally:
        servers.stop()
