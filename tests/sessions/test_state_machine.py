"""The session store against a plain-Python model, on every backend (hypothesis, stateful).

Each rule is something a user or an operator does — create a session, add messages,
rename, pin, extend, clear, read, list, search, reopen the store, write from a second
client — done to the real store and to the model (`Kept`); the checks compare what the
store shows with the model. The failover store (`auto`) also meets Redis being SIGKILLed
and restarted, and calls whose request or whose reply is lost (the "timed out, but Redis
applied it" case). Whatever happens: every acknowledged message is there exactly once, in
order; nothing from a call that raised ever appears; titles and pins are as set.

Deeper runs: RAGTUI_STATEFUL_EXAMPLES=500 .venv/bin/python -m pytest tests/sessions/test_state_machine.py
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Callable

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test,
)

from ragtui.sessions import Message, SessionNotFound, StoreUnavailable, failover, open_store
from ragtui.sessions.store import title_from
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow  # ~40 s of generated runs: `make test` only, not `make test-fast`

TTL = 3600
MAX_MESSAGES = 6  # small, so that trimming is part of what is checked
TTL_SLACK = 30  # seconds the test itself may take between a change and reading the TTL back
USERS = st.sampled_from(["alice", "bob"])
WORDS = st.sampled_from(["Redis", "journal", "outage", "ünïcødé ✓", "kill -9", "pin"])
ROLES = st.sampled_from(["user", "assistant"])
SAID = st.lists(st.tuples(ROLES, WORDS), min_size=1, max_size=MAX_MESSAGES + 2)  # (role, word) per message
SESSIONS = Bundle("sessions")
EXTRA_EXAMPLES = int(os.environ.get("RAGTUI_STATEFUL_EXAMPLES", "0"))


def _settings(examples: int, steps: int) -> settings:
    return settings(
        max_examples=EXTRA_EXAMPLES or examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        # CI replays one fixed set of examples, so a merge is judged on what was run before
        # it; a developer's run explores new ones every time.
        derandomize=bool(os.environ.get("CI")),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


class Clock:
    """The store's clock: real time, shifted by the one rule that travels in time."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift

    @contextmanager
    def shifted(self, seconds: float):
        self.shift = seconds
        try:
            yield
        finally:
            self.shift = 0.0


def _use_clock(store, clock: Clock) -> None:
    for part in (store, getattr(store, "primary", None), getattr(store, "outbox", None)):
        if part is not None:
            part.clock = clock


@dataclass
class Kept:
    """What the model says one live session holds."""

    user: str
    title: str | None  # None until the first user message names it
    deadline: float | None
    pinned: bool = False
    messages: list[Message] = field(default_factory=list)  # what the session keeps
    acknowledged: list[Message] = field(default_factory=list)  # every message, trimmed or not

    def add(self, message: Message, now: float) -> None:
        self.acknowledged.append(message)
        self.messages = self.acknowledged[-MAX_MESSAGES:]
        if message.role == "user" and self.title is None:
            self.title = title_from(message.content)
        self.touch(now + TTL)

    def touch(self, deadline: float) -> None:
        """Activity (a message, an extend at the store's TTL): the later deadline; a session
        that never expires stays so."""
        if not self.pinned and self.deadline is not None:
            self.deadline = max(self.deadline, deadline)

    def mentions(self, word: str) -> bool:
        needle = word.casefold()
        return needle in (self.title or "").casefold() or any(needle in m.content.casefold() for m in self.messages)


def _ids(messages) -> list[tuple[str, str]]:
    return [(m.id, m.content) for m in messages]


class StoreMachine(RuleBasedStateMachine):
    """Rules and checks every backend shares; subclasses say how to open the store."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.numbers = count()
        self.model: dict[str, Kept] = {}
        self.owners: dict[str, str] = {}  # every session ever created -> its user
        self.refused: set[str] = set()  # contents of messages whose add raised: never to be seen
        self.touched: str | None = None  # the session the last rule changed
        self.data_dir = tempfile.mkdtemp(prefix="ragtui-sm-")
        self.store = self.open()

    def open(self):
        store = open_store(self.target(), data_dir=self.data_dir, ttl=TTL, max_messages=MAX_MESSAGES)
        _use_clock(store, self.clock)
        return store

    def target(self) -> str:
        raise NotImplementedError

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:  # a run that went well ends with a full check
                self.check_everything()
        finally:
            self.store.close()
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # --------------------------------------------------------------- writes
    def call(self, call: Callable[[], Any]) -> Any:
        """One call to the store (the failover machine makes some of them fail)."""
        return call()

    def may_travel_in_time(self) -> bool:
        return True

    def knows_ttls(self) -> bool:
        return True

    @initialize(target=SESSIONS, user=USERS, title=st.none() | WORDS)
    def first_session(self, user, title):
        return self.create(user, title)

    @rule(target=SESSIONS, user=USERS, title=st.none() | WORDS)
    def create(self, user, title):
        sid = self.call(lambda: self.store.create_session(user, title))
        self.model[sid] = Kept(user, title_from(title) if title else None, self.clock() + TTL)
        self.owners[sid], self.touched = user, sid
        return sid

    @precondition(lambda self: self.may_travel_in_time())
    @rule(target=SESSIONS, user=USERS)
    def create_already_expired(self, user):
        """A session whose whole life ended before now: no read may show it."""
        with self.clock.shifted(-2 * TTL):
            sid = self.store.create_session(user, "expired")
        self.owners[sid] = user
        return sid

    def write(self, sid: str, call: Callable[[], Any], apply: Callable[[Kept, Any], None], store=None) -> bool:
        """Do `call` on `store` (ours by default) and `apply` on the model's session: True when
        acknowledged."""
        self.touched = sid
        kept = self.model.get(sid)
        if kept is None:
            with pytest.raises(SessionNotFound):
                self.call(call)
            return False
        apply(kept, self.call(call))
        return True

    @rule(sid=SESSIONS, said=SAID)
    def add_messages(self, sid, said):
        for role, word in said:
            self.add_message(self.store, sid, role, f"{word} #{next(self.numbers)}")

    def add_message(self, store, sid: str, role: str, content: str) -> None:
        def apply(kept: Kept, message: Message) -> None:
            assert (message.role, message.content) == (role, content)
            kept.add(message, self.clock())

        if not self.write(sid, lambda: store.add_message(sid, role, content), apply, store):
            self.refused.add(content)

    @rule(sid=SESSIONS, word=WORDS)
    def rename(self, sid, word):
        def apply(kept: Kept, _) -> None:
            kept.title = title_from(f"{word} renamed")

        self.write(sid, lambda: self.store.rename_session(sid, f"  {word}\nrenamed "), apply)

    @rule(sid=SESSIONS, pinned=st.booleans())
    def pin(self, sid, pinned):
        def apply(kept: Kept, _) -> None:
            kept.pinned = pinned
            kept.deadline = None if pinned else self.clock() + TTL

        call = self.store.pin_session if pinned else self.store.unpin_session
        self.write(sid, lambda: call(sid), apply)

    @rule(sid=SESSIONS, ttl=st.sampled_from([None, 60, 600, 7200]))
    def extend(self, sid, ttl):
        def apply(kept: Kept, left: int | None) -> None:
            if ttl is None:
                kept.touch(self.clock() + TTL)
            elif not kept.pinned:  # asked for: set as asked
                kept.deadline = self.clock() + ttl
            if self.knows_ttls():
                assert left == (None if kept.deadline is None
                                else pytest.approx(kept.deadline - self.clock(), abs=TTL_SLACK))

        self.write(sid, lambda: self.store.extend_session(sid, ttl), apply)

    @rule(sid=SESSIONS)
    def clear(self, sid):
        self.touched = sid
        assert self.call(lambda: self.store.clear_session(sid)) is (self.model.pop(sid, None) is not None)

    # ---------------------------------------------------------------- reads
    def after_rule(self) -> None:
        pass

    @invariant()
    def touched_session_matches(self):
        """The session the last rule changed, as the model has it (cheap: every step)."""
        self.after_rule()
        if self.touched is not None:
            self.check_session(self.touched)

    @rule(sid=SESSIONS, n=st.integers(0, MAX_MESSAGES + 1))
    def last_n_messages(self, sid, n):
        self.check_last_n(sid, n)

    @rule(sid=SESSIONS)
    def ttl(self, sid):
        self.check_ttl(sid)

    @rule()
    def everything_matches(self):
        self.check_everything()

    def check_session(self, sid: str) -> None:
        kept, session = self.model.get(sid), self.store.get_session(sid)
        if kept is None:
            assert session is None
            assert self.store.get_conversation_history(sid) == []
            return
        assert session is not None, f"live session {sid} not found"
        assert (session.user_id, session.title, session.pinned, session.message_count) == (
            kept.user, kept.title or "", kept.pinned, len(kept.messages))
        assert _ids(self.store.get_conversation_history(sid)) == _ids(kept.messages)

    def check_last_n(self, sid: str, n: int) -> None:
        expected = self.model[sid].messages[-n:] if sid in self.model and n else []
        assert _ids(self.store.get_last_n_messages(sid, n)) == _ids(expected)

    def check_ttl(self, sid: str) -> None:
        kept = self.model.get(sid)
        if kept is None:
            with pytest.raises(SessionNotFound):
                self.store.ttl(sid)
            return
        left = self.store.ttl(sid)
        if kept.deadline is None:
            assert left is None
        else:
            assert left is not None and abs(left - (kept.deadline - time.time())) <= TTL_SLACK

    def check_everything(self) -> None:
        """Every session, every listing, every search and the stats, as the model has them."""
        for sid in self.owners:
            self.check_session(sid)
        for user in (None, "alice", "bob"):
            self.check_listing(user)
        for user in ("alice", "bob"):
            for word in WORDS.elements:
                self.check_search(user, word)
        stats = self.store.get_session_stats()
        assert (stats.sessions, stats.messages) == (len(self.model), sum(len(k.messages) for k in self.model.values()))

    def live(self, user: str | None) -> dict[str, Kept]:
        return {sid: k for sid, k in self.model.items() if user is None or k.user == user}

    def check_listing(self, user: str | None) -> None:
        listed = self.store.get_all_active_sessions(user, limit=1000)
        assert sorted(s.id for s in listed) == sorted(self.live(user))
        if user is not None:  # a user's sessions: most recent activity first
            activity = [s.last_activity for s in listed]
            assert activity == sorted(activity, reverse=True)
            for s in listed:
                if self.model[s.id].messages:
                    assert s.last_activity == self.model[s.id].messages[-1].timestamp
        page = self.store.get_all_active_sessions(user, limit=2, offset=1)
        assert [s.id for s in page] == [s.id for s in listed[1:3]]

    def check_search(self, user: str, word: str) -> None:
        found = self.store.search_sessions(user, word, limit=1000)
        assert sorted(s.id for s in found) == sorted(sid for sid, k in self.live(user).items() if k.mentions(word))


class MemoryMachine(StoreMachine):
    def target(self) -> str:
        return "memory"


class ReopenableMachine(StoreMachine):
    """Backends whose data outlives the store object: closing and reopening keeps it all."""

    @rule()
    def close_and_reopen(self):
        self.store.close()
        self.store = self.open()

    @rule(sid=SESSIONS, word=WORDS)
    def add_from_another_client(self, sid, word):
        """A second app instance (another process, another device) writes to the session."""
        other = self.open()
        try:
            self.add_message(other, sid, "user", f"{word} #{next(self.numbers)} (other client)")
        finally:
            other.close()


class LocalMachine(ReopenableMachine):
    def target(self) -> str:
        return "local"


class RedisMachine(ReopenableMachine):
    url = ""

    def __init__(self) -> None:
        with redis.Redis.from_url(self.url) as client:
            client.flushall()
        super().__init__()

    def target(self) -> str:
        return self.url


# ------------------------------------------------------------------ the failover store
class LostCalls:
    """Makes one call of the test's own thread to the Redis on `port` fail, as a network
    does: before the request leaves (nothing applied) or after the reply came back (applied,
    but the caller never hears). Other threads and other servers are never touched.
    `plan` is (when, error, how many calls to let pass first)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.thread = threading.get_ident()
        self.plan: tuple[str, type[Exception], int] | None = None  # when, error, calls to let pass

    def take(self, client) -> tuple[str, type[Exception]] | None:
        kwargs = client.connection_pool.connection_kwargs
        if self.plan is None or threading.get_ident() != self.thread or kwargs.get("port") != self.port:
            return None
        when, error, skip = self.plan
        if skip:
            self.plan = (when, error, skip - 1)
            return None
        self.plan = None
        return when, error

    def install(self, monkeypatch) -> None:
        for cls, name in ((redis.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
            monkeypatch.setattr(cls, name, self._wrap(getattr(cls, name)))

    def _wrap(self, original):
        def call(client, *args, **kwargs):
            fault = self.take(client)
            if fault and fault[0] == "request":
                raise fault[1]("injected: the request was lost")
            result = original(client, *args, **kwargs)
            if fault:
                raise fault[1]("injected: the reply was lost (Redis applied the call)")
            return result

        return call


LOST_CALLS = st.tuples(st.sampled_from(["request", "reply"]),
                       st.sampled_from([redis.ConnectionError, redis.TimeoutError]), st.integers(0, 4))


class FailoverMachine(ReopenableMachine):
    """`auto` with a Redis that dies, comes back, and loses requests and replies.

    While the store may hold writes Redis has not got yet (`synced` False), reads show what
    the store knows: partial, or "Redis unreachable", but never a message twice, out of
    order, or one that was not acknowledged, and every message saved while degraded. After
    `store.sync()` everything matches the model exactly, as on the other backends."""

    server: RedisServer
    faults: LostCalls

    def __init__(self) -> None:
        self.faults.plan = None  # a run that failed mid-rule may have left one armed
        if self.server.process.poll() is not None:
            self.server.start()
        with redis.Redis.from_url(self.server.url) as client:
            client.flushall()
        self.down = False
        self.synced = True
        self.saved_locally: set[str] = set()  # ids of messages this store acknowledged from the outbox
        self.replayed_elsewhere: set[str] = set()  # of those, the ones another client replayed into Redis
        self.next_fault = None
        super().__init__()

    def open(self):
        store = open_store("auto", redis_url=self.server.url, data_dir=self.data_dir, ttl=TTL,
                           max_messages=MAX_MESSAGES)
        _use_clock(store, self.clock)
        return store

    def teardown(self) -> None:
        try:
            if not self.down and sys.exc_info()[0] is None:
                self.sync()  # whatever happened, once Redis is back it all gets there
        finally:
            if self.down:
                self.server.start()
            super().teardown()

    def may_travel_in_time(self) -> bool:
        return self.synced and self.next_fault is None

    def knows_ttls(self) -> bool:
        return self.synced  # degraded, the time left is this process's best guess

    # ------------------------------------------------------------- faults
    @rule(stays_down=st.booleans())
    def redis_is_killed(self, stays_down):
        self.server.kill()
        self.synced, self.down = False, stays_down
        if not stays_down:
            self.server.start()  # appendonly, fsync always: back with everything it acknowledged

    @precondition(lambda self: self.down)
    @rule(then_sync=st.booleans())
    def redis_restarts(self, then_sync):
        self.server.start()
        self.down = False
        if then_sync:
            self.sync()

    @precondition(lambda self: self.synced)  # degraded, the store makes no call to lose
    @rule(fault=LOST_CALLS)
    def next_call_is_lost(self, fault):
        self.next_fault = fault

    @precondition(lambda self: self.synced)
    @rule(sid=SESSIONS, said=SAID, fault=LOST_CALLS)
    def add_messages_losing_a_call(self, sid, said, fault):
        self.next_fault = fault
        self.add_messages(sid, said)

    @precondition(lambda self: not self.down)
    @rule()
    def sync(self):
        self.replay_everything()
        self.synced = True

    def replay_everything(self) -> None:
        assert self.store.sync(), self.store.health
        self.saved_locally.clear()  # in Redis now
        self.replayed_elsewhere.clear()

    @rule()
    def close_and_reopen(self):
        self.store.close()
        self.store = self.open()
        if not self.down:  # opening with Redis up replays what is pending first
            assert self.store.health == "ok", self.store.health
            self.synced = True
            self.saved_locally.clear()
        else:  # a new process, Redis down: it shows what is still pending, not what it never saw
            self.saved_locally -= self.replayed_elsewhere
        self.replayed_elsewhere.clear()

    # ------------------------------------------------------------- writes
    def call(self, call):
        if self.next_fault:  # armed for the calls of this rule, the first write after it
            self.faults.plan, self.next_fault = self.next_fault, None
            # not synced whether or not it fires: which call it hits depends on what the store
            # caches, and the rules hypothesis may draw next must not (FlakyStrategyDefinition)
            self.synced = False
        return call()

    def after_rule(self) -> None:
        self.faults.plan = None

    def write(self, sid, call, apply, store=None) -> bool:
        self.touched = sid
        try:
            result = self.call(call)
        except SessionNotFound as exc:
            assert sid not in self.model, f"live session {sid}: {exc}"  # unreachable is not expired
            return False
        except StoreUnavailable as exc:  # not saved anywhere, and the caller was told
            assert not self.synced, f"Redis is up and nothing is pending, yet: {exc}"
            return False
        kept = self.model.get(sid)
        if kept is None:  # written while degraded to a session Redis had dropped: it is back
            assert not self.synced, f"a write to dead session {sid} was acknowledged"
            kept = self.model[sid] = Kept(self.owners[sid], None, self.clock() + TTL)
        apply(kept, result)
        if isinstance(result, Message) and store in (None, self.store) and self.store.degraded:
            # kept locally by this store: it keeps showing it whatever another client replays
            # (one saved by another client shows once this one reads it from Redis)
            self.saved_locally.add(result.id)
        return True

    @rule(sid=SESSIONS, word=WORDS)
    def add_from_another_client(self, sid, word):
        super().add_from_another_client(sid, word)
        if not self.down:  # opened with Redis up, it replayed the outbox (bench/chaos-findings.md, F1)
            self.replayed_elsewhere |= self.saved_locally

    @rule(sid=SESSIONS)
    def clear(self, sid):
        try:
            return super().clear(sid)
        except StoreUnavailable:  # a delete is never queued: refused while degraded
            assert not self.synced
        if not self.down:
            # Redis is up: this delete may have reached it and lost only its reply (deleted,
            # then). The user deletes again once Redis is back, as the error says.
            self.faults.plan = None
            self.replay_everything()  # (not `synced`: whether this ran depends on call counts)
            self.store.clear_session(sid)
            self.model.pop(sid, None)

    # -------------------------------------------------------------- reads
    def read(self, call: Callable[[], Any]) -> Any:
        """A read while not synced: it may say Redis is unreachable (None here)."""
        try:
            return call()
        except StoreUnavailable:
            return None

    def check_session(self, sid):
        if self.synced:
            return super().check_session(sid)
        kept = self.model.get(sid)
        session = self.read(lambda: self.store.get_session(sid))
        if kept is None:
            assert session is None, f"dead session {sid} shown"
        elif session is not None:
            assert (session.id, session.user_id) == (sid, kept.user)
        self.check_partial(sid, self.read(lambda: self.store.get_conversation_history(sid)) or [])

    def check_partial(self, sid: str, shown: list[Message], n: int = MAX_MESSAGES) -> None:
        """Shown while not synced: once each, in order, only acknowledged messages, and all
        of the last `n` kept that were saved while not synced."""
        kept = self.model.get(sid)
        ids = [m.id for m in shown]
        assert len(set(ids)) == len(ids), f"a message shown twice in {sid}: {ids}"
        assert not self.refused & {m.content for m in shown}, "a message whose add raised is shown"
        acknowledged = [m.id for m in kept.acknowledged] if kept else []
        assert [i for i in acknowledged if i in set(ids)] == ids, f"{ids} not in the order {acknowledged}"
        must = {m.id for m in kept.messages[-n:] if m.id in self.saved_locally} if kept and n else set()
        assert must <= set(ids), f"messages saved while degraded are missing from {sid}"

    def check_last_n(self, sid, n):
        if self.synced:
            return super().check_last_n(sid, n)
        shown = self.read(lambda: self.store.get_last_n_messages(sid, n)) or []
        assert len(shown) <= n
        self.check_partial(sid, shown, n)

    def check_ttl(self, sid):
        if self.synced:
            return super().check_ttl(sid)
        try:
            self.read(lambda: self.store.ttl(sid))  # "unknown" is the honest answer here
        except SessionNotFound:
            assert sid not in self.model, "unreachable is not expired"

    def check_everything(self):
        if self.synced:
            return super().check_everything()
        for sid in self.owners:
            self.check_session(sid)
        for user in (None, "alice", "bob"):
            listed = self.read(lambda: self.store.get_all_active_sessions(user, limit=1000)) or []
            assert {s.id for s in listed} <= set(self.live(user)), "a dead session is listed"
        for user in ("alice", "bob"):
            found = self.read(lambda: self.store.search_sessions(user, "#", limit=1000)) or []
            assert {s.id for s in found} <= set(self.live(user)), "a dead session is found"


def test_memory_store_matches_the_model():
    run_state_machine_as_test(MemoryMachine, settings=_settings(30, 50))


def test_local_store_matches_the_model():
    run_state_machine_as_test(LocalMachine, settings=_settings(25, 50))


def test_redis_store_matches_the_model(redis_url):
    RedisMachine.url = redis_url
    run_state_machine_as_test(RedisMachine, settings=_settings(25, 50))


@pytest.fixture
def failing_redis(tmp_path, monkeypatch):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    FailoverMachine.server = server
    FailoverMachine.faults = LostCalls(server.port)
    FailoverMachine.faults.install(monkeypatch)
    # no background probe: the store replays when the test says (sync), so runs repeat
    monkeypatch.setattr(failover, "PROBE_INTERVAL", 3600)
    yield server
    server.stop()


def test_failover_store_matches_the_model_through_outages(failing_redis):
    run_state_machine_as_test(FailoverMachine, settings=_settings(25, 50))
