"""The WAIT hook: a write counts as saved only once a replica has it, and only a WAIT sent on
the connection that made the write can say so."""
from __future__ import annotations

import threading

import pytest

from ragtui.sessions.connection import connect, replica_wait
from ragtui.sessions.models import StoreUnavailable


def _hook(url: str, replicas: int | None = None, timeout_ms: int = 5000):
    # generous: a replica starved of CPU on a loaded test machine still answers in time
    deployment = connect(url, timeout=10.0, connect_timeout=0.5, wait_replicas=replicas)
    return deployment, replica_wait(deployment, timeout_ms=timeout_ms)


def test_a_write_on_the_master_waits_for_its_replica(redis_sentinel):
    deployment, wait = _hook(redis_sentinel.master.url, replicas=1)
    deployment.client.set("k", "v")
    wait("k")  # the replica has it: no error
    deployment.client.close()


def test_a_write_no_replica_took_is_not_saved(redis_url):
    deployment, wait = _hook(redis_url, replicas=1, timeout_ms=100)  # a lone server: nobody to reach
    deployment.client.set("k", "v")
    with pytest.raises(StoreUnavailable, match=r"reached 0 of 1 Redis replica\(s\) in 100 ms"):
        wait("k")
    deployment.client.close()


def test_a_lone_server_is_not_waited_for_unless_asked(redis_url):
    deployment, wait = _hook(redis_url)
    assert deployment.replicas == 0 and wait is None
    deployment.client.close()


def test_wait_on_another_connection_than_the_write_confirms_nothing(redis_sentinel):
    """WAIT counts the writes of its own connection: if another thread holds the one that
    wrote, a WAIT elsewhere could say yes for a write it never saw."""
    deployment, wait = _hook(redis_sentinel.master.url, replicas=1)
    pool = deployment.client.connection_pool
    deployment.client.set("k", "v")
    taken, done = threading.Event(), threading.Event()

    def hold_the_writers_connection() -> None:
        connection = pool.get_connection()  # the free one: the connection that wrote
        taken.set()
        done.wait()
        pool.release(connection)

    other = threading.Thread(target=hold_the_writers_connection)
    other.start()
    taken.wait()
    try:
        with pytest.raises(StoreUnavailable, match="could not be confirmed"):
            wait("k")
    finally:
        done.set()
        other.join()
    deployment.client.set("k", "w")
    wait("k")  # its own connection is free again: confirmed
    deployment.client.close()


def test_a_thread_gets_back_the_connection_it_used_last(redis_url):
    deployment, _ = _hook(redis_url, replicas=1)  # affinity is for WAIT: only a pool that waits keeps it
    pool = deployment.client.connection_pool
    mine = pool.get_connection()
    theirs = []
    other = threading.Thread(target=lambda: theirs.append(pool.get_connection()))
    other.start()
    other.join()
    pool.release(mine)
    pool.release(theirs[0])  # released last: the one a plain pool would hand out next
    assert pool.get_connection() is mine
    deployment.client.close()
