"""One deadline per write (bench finding F5): every round trip of a call used to wait up to
`redis_timeout` on its own, so a Redis that answers each command just in time made a create
(three round trips) take up to three times that. Now a write's round trips and tries share one
`redis_timeout`; once it is spent the write is kept locally, as after a timeout, and nothing
is lost or stored twice.

A real redis-server behind a TCP relay that holds each of its replies `delay` seconds: a Redis
that answers every command late, but in time."""
from __future__ import annotations

import os
import signal
import socket
import threading

import pytest

from ragtui.sessions import open_store as _open_store
from tests.redis_server import RedisServer

REPLY_DELAY = 0.4  # each round trip: well inside a 1 s timeout, three of them well past it


class SlowRelay:
    """127.0.0.1:port → the Redis at `target`, each reply held `delay` seconds."""

    def __init__(self, target: int) -> None:
        self.target, self.delay = target, 0.0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if replies and self.delay:
                    threading.Event().wait(self.delay)  # the late answer
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):  # one side closed: close the other
            s.close()

    def close(self) -> None:
        for s in self.sockets:
            s.close()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture
def relay(redis_server):
    relay = SlowRelay(redis_server.port)
    yield relay
    relay.close()


@pytest.fixture
def open_store():
    opened = []

    def open_(*args, **kwargs):
        opened.append(_open_store(*args, **kwargs))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def contents(store, sid):
    return [m.content for m in store.get_conversation_history(sid)]


def test_a_create_of_three_late_round_trips_is_kept_locally_within_one_deadline(open_store, redis_server, relay, tmp_path):
    store = open_store(relay.url, data_dir=tmp_path / "data", redis_timeout=1.0)
    sid = store.create_session("alice", "before")
    store.add_message(sid, "user", "before")  # (Redis has both scripts now: one round trip each)
    relay.delay = REPLY_DELAY
    store.add_message(sid, "user", "one late round trip")  # within its own deadline: in Redis
    assert not store.degraded
    late = store.create_session("alice", "three late round trips")  # claim, script, index: past it
    assert store.degraded, "each round trip waited its own timeout: the create waited three"
    store.add_message(late, "user", "kept locally")
    store.rename_session(sid, "renamed while degraded")
    relay.delay = 0
    assert store.sync()
    direct = open_store(redis_server.url, data_dir=tmp_path / "other")
    assert contents(direct, sid) == ["before", "one late round trip"]
    assert contents(direct, late) == ["kept locally"]
    assert direct.get_session(late).title == "three late round trips"
    assert direct.get_session(sid).title == "renamed while degraded"


def test_the_deadline_is_one_calls_and_the_next_call_reaches_redis_at_once(open_store, redis_server, relay, tmp_path):
    """The deadline is one call's: the next call, Redis healthy again, reaches Redis at once."""
    store = open_store(relay.url, data_dir=tmp_path / "data", redis_timeout=1.0)
    sid = store.create_session("alice")
    relay.delay = REPLY_DELAY
    store.create_session("alice", "past the deadline")
    assert store.degraded
    relay.delay = 0
    assert store.sync()  # replayed: Redis takes writes again
    store.add_message(sid, "user", "straight to Redis")
    assert not store.degraded and store.health == "ok"
    direct = open_store(redis_server.url, data_dir=tmp_path / "other")
    assert contents(direct, sid) == ["straight to Redis"]
    assert [s.title for s in direct.get_all_active_sessions("alice")].count("past the deadline") == 1
