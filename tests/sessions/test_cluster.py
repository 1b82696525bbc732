"""The store on a real local Redis Cluster (3 masters, a replica each): every call works
through the cluster client, a killed master loses no acknowledged message, and a paused
master or a whole cluster gone is an outage ridden out on the local outbox."""
from __future__ import annotations

import os
import signal

import pytest

from ragtui.sessions.keys import Keys
from tests.redis_server import RedisClusterServers, wait_until
from tests.sessions.replicated import acked_vs_stored

pytestmark = pytest.mark.slow  # a cluster of six redis-servers, and a failover: make test, not test-fast


def test_every_session_call_works_on_a_cluster(cluster_url, make_store):
    alice = make_store(cluster_url, user="alice")
    bob = make_store(cluster_url, user="bob")
    assert alice.describe().startswith("Redis ✓ redis+cluster://") and alice.health == "ok"

    sid = alice.create_session("alice", "cluster notes")
    for i in range(3):
        alice.add_message(sid, "user", f"question {i} about hash slots")
        alice.add_message(sid, "assistant", f"answer {i}")
    other = bob.create_session("bob", "bob's chat")
    bob.add_message(other, "user", "hello from another slot")
    alice.rename_session(sid, "renamed")
    alice.pin_session(sid)

    assert [m.content for m in alice.get_last_n_messages(sid, 2)] == ["question 2 about hash slots", "answer 2"]
    assert [s.id for s in alice.get_all_active_sessions("alice")] == [sid]
    assert [s.id for s in alice.search_sessions("alice", "HASH SLOTS")] == [sid]
    session = alice.get_session(sid)
    assert (session.title, session.pinned, session.message_count, session.ttl) == ("renamed", True, 6, None)

    # the admin listing lives in other slots than any user's keys: read through the cluster
    admin = make_store(cluster_url)
    assert {(s.user_id, s.id) for s in admin.get_all_active_sessions(None)} == {("alice", sid), ("bob", other)}
    stats = admin.get_session_stats()
    assert (stats.sessions, stats.messages) == (2, 7)
    assert admin.clear_session(other) and bob.get_session(other) is None
    # everything is in the cluster (a write a loaded replica was slow to confirm: once re-sent)
    assert all(store.wait_synced(timeout=30) for store in (alice, bob, admin))


def test_a_plain_url_at_a_cluster_node_gets_a_cluster_client(cluster_url, redis_cluster, make_store):
    node = redis_cluster.live()[-1]  # a replica, as it happens: the client finds the masters
    store = make_store(f"redis://127.0.0.1:{node.port}/0", user="carol")
    assert "Redis Cluster" in store.describe()
    sid = store.create_session("carol")
    store.add_message(sid, "user", "detected")
    assert [m.content for m in store.get_conversation_history(sid)] == ["detected"]
    assert store.wait_synced(timeout=30), store.health


def test_a_killed_master_loses_no_acknowledged_message(cluster_url, redis_cluster, make_store):
    """SIGKILL the master holding alice's keys while she chats and its replica lags behind;
    the replica takes over. Every message the store acknowledged is in the cluster
    afterwards, once (without WAIT, the ones only the dead master had are gone)."""
    store = make_store(cluster_url, user="alice")
    sid = store.create_session("alice", "through a failover")
    master = redis_cluster.master_for(Keys().meta("alice", sid))
    replica = redis_cluster.replica_of(master)
    acked = [store.add_message(sid, "user", f"before {i}").id for i in range(20)]

    os.kill(replica.process.pid, signal.SIGSTOP)  # the replica falls behind: its link dropped,
    try:  # it cannot come back for what the master alone takes now
        with master.client() as client:
            client.client_kill_filter(_type="replica")
        acked += [store.add_message(sid, "user", f"replica behind {i}").id for i in range(10)]
        assert store.degraded  # no replica confirmed them: kept in the local outbox as well
        master.kill()
    finally:
        os.kill(replica.process.pid, signal.SIGCONT)
    acked += [store.add_message(sid, "user", f"master down {i}").id for i in range(10)]
    wait_until(lambda: replica.role() == "master", "the replica to take over")
    acked += [store.add_message(sid, "user", f"after promotion {i}").id for i in range(10)]

    master.start()  # the old master comes back as the new one's replica
    redis_cluster.wait_healthy()
    acked += [store.add_message(sid, "user", f"replica back {i}").id for i in range(10)]
    assert store.wait_synced(timeout=30), store.health

    reader = make_store(cluster_url, user="alice")
    stored = [m.id for m in reader.get_conversation_history(sid)]
    lost, duplicated = acked_vs_stored("cluster master kill", acked, stored)
    assert (lost, duplicated) == (0, 0)
    assert stored == acked  # and in the order they were written


def test_a_cluster_behind_a_password(tmp_path, make_store):
    """Every node asks for the password: from the URL or from the settings (kept off the
    URL), it reaches each node the client discovers, and is never shown."""
    cluster = RedisClusterServers(tmp_path / "auth", replicas=0, password="cluster-s3cret").start()
    try:
        store = make_store(cluster.url, user="alice")
        assert "cluster-s3cret" not in store.describe()
        plain_url = cluster.url.replace(":cluster-s3cret@", "")
        other = make_store(plain_url, user="bob", redis_options={"password": "cluster-s3cret"})
        for who, s in (("alice", store), ("bob", other)):
            sid = s.create_session(who)
            s.add_message(sid, "user", f"{who} behind a password")
            assert [m.content for m in s.get_conversation_history(sid)] == [f"{who} behind a password"]
        admin = make_store(cluster.url)
        assert {s.user_id for s in admin.get_all_active_sessions(None)} == {"alice", "bob"}
    finally:
        cluster.stop()


def test_auto_starts_on_the_local_store_while_the_cluster_is_down_and_replays_once_it_answers(
        tmp_path, make_store, capsys):
    """Issue 10: auto falls back to the local store when Redis is unreachable — a cluster too
    (it exited with 'unreachable': a cluster client can't be built without a node). What was
    written meanwhile reaches the cluster once its nodes answer; `--store redis` still refuses."""
    from ragtui.cli import main

    cluster = RedisClusterServers(tmp_path / "later", replicas=0)  # its ports are chosen, nothing runs yet
    try:
        store = make_store("auto", redis_url=cluster.url, user="alice")
        assert store.fallback_reason and "unreachable" in store.fallback_reason and store.sharded
        sid = store.create_session("alice", "written while the cluster was down")
        store.add_message(sid, "user", "kept on this machine")
        assert main(["--store", "auto", "--redis-url", cluster.url, "--data-dir", str(tmp_path / "cli"), "stats"]) == 0
        assert "Redis unreachable" in capsys.readouterr().out
        assert main(["--store", "redis", "--redis-url", cluster.url, "stats"]) == 2
        assert "is unreachable" in capsys.readouterr().err

        cluster.start()
        assert store.sync() and store.health == "ok" and store.fallback_reason is None
        fresh = make_store(cluster.url, user="alice")  # straight from the cluster
        assert fresh.sharded and fresh.get_session(sid).title == "written while the cluster was down"
        assert [m.content for m in fresh.get_conversation_history(sid)] == ["kept on this machine"]
        store.add_message(sid, "assistant", "and now straight to the cluster")
        assert [m.content for m in fresh.get_conversation_history(sid)][-1] == "and now straight to the cluster"
    finally:
        cluster.stop()


def test_a_write_to_a_paused_master_is_kept_locally_within_its_deadline(cluster_url, redis_cluster, make_store):
    """The write times out; the client's reload of its node map then has what is left of the
    write's deadline (nothing) and reaches no node. That is the outage it is: the write is
    kept locally (it raised 'Redis Cluster cannot be connected' to the caller), later ones go
    straight to the outbox, and all are in the cluster once, in order, when the master is back."""
    store = make_store(cluster_url, user="alice")
    sid = store.create_session("alice", "a paused master")
    store.add_message(sid, "user", "before")
    master = redis_cluster.master_for(Keys().meta("alice", sid))
    os.kill(master.process.pid, signal.SIGSTOP)
    try:
        store.add_message(sid, "user", "while paused")
        assert store.degraded and "unreachable" in store.health
        store.add_message(sid, "user", "kept locally")
    finally:
        os.kill(master.process.pid, signal.SIGCONT)
    assert store.wait_synced(timeout=30), store.health
    redis_cluster.wait_healthy()  # (a replica may have taken over meanwhile)
    reader = make_store(cluster_url, user="alice")
    assert [m.content for m in reader.get_conversation_history(sid)] == ["before", "while paused", "kept locally"]


def test_a_cluster_whose_nodes_all_went_away_is_an_outage_ridden_out_locally(tmp_path, make_store):
    """No node to reload the node map from: reads show what this machine knows and writes
    are kept locally (both raised 'Redis Cluster cannot be connected'), then replayed."""
    cluster = RedisClusterServers(tmp_path / "down", replicas=0).start()
    try:
        store = make_store(cluster.url, user="alice")
        sid = store.create_session("alice", "the whole cluster went away")
        assert store.get_session(sid) is not None  # seen here
        for node in cluster.nodes:
            node.kill()
        store.add_message(sid, "user", "kept on this machine")
        assert store.degraded and "unreachable" in store.health
        assert [s.id for s in store.get_all_active_sessions("alice")] == [sid]
        assert [m.content for m in store.get_conversation_history(sid)] == ["kept on this machine"]

        for node in cluster.nodes:
            node.start()
        cluster.wait_healthy()
        assert store.sync(), store.health
        fresh = make_store(cluster.url, user="alice")  # (these nodes keep nothing across a restart)
        assert [m.content for m in fresh.get_conversation_history(sid)] == ["kept on this machine"]
    finally:
        cluster.stop()
