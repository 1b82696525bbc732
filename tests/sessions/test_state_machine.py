"""The session store against a plain-Python model, on every backend (hypothesis, stateful).

Each rule is something a user or an operator does — create a session, add a message,
rename, pin, extend, clear, read, list, search, reopen the store — done to the real store
and to `Model`; the checks compare what the store shows with the model. The failover store
(`auto` with Redis reachable) also meets Redis being SIGKILLed and restarted, and calls
whose request or whose reply is lost (the "timed out, but Redis applied it" case). Wherever
it happens: every acknowledged message is there exactly once, in order; nothing from a call
that raised ever appears; titles and pins are as set.

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

import pytest
import redis
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test,
)

from ragtui.sessions import Message, SessionNotFound, StoreError, open_store
from ragtui.sessions.store import title_from
from tests.redis_server import RedisServer

TTL = 3600
MAX_MESSAGES = 6  # small, so that trimming is part of what is checked
TTL_SLACK = 30  # seconds the test itself may take between a change and reading the TTL back
USERS = st.sampled_from(["alice", "bob"])
WORDS = st.sampled_from(["Redis", "journal", "outage", "ünïcødé ✓", "kill -9", "pin"])
ROLES = st.sampled_from(["user", "assistant"])
EXTRA_EXAMPLES = int(os.environ.get("RAGTUI_STATEFUL_EXAMPLES", "0"))


def _settings(examples: int, steps: int) -> settings:
    return settings(
        max_examples=EXTRA_EXAMPLES or examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


SESSIONS = Bundle("sessions")


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
    messages: list[Message] = field(default_factory=list)

    def add(self, message: Message, now: float) -> None:
        self.messages = (self.messages + [message])[-MAX_MESSAGES:]
        if message.role == "user" and self.title is None:
            self.title = title_from(message.content)
        if not self.pinned:
            self.deadline = now + TTL

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
        self.data_dir = tempfile.mkdtemp(prefix="ragtui-sm-")
        self.store = self.open()

    # ---------------------------------------------------------------- setup
    def open(self):
        store = open_store(self.target(), data_dir=self.data_dir, ttl=TTL, max_messages=MAX_MESSAGES)
        _use_clock(store, self.clock)
        return store

    def target(self) -> str:
        raise NotImplementedError

    # --------------------------------------------------------------- writes
    @initialize(target=SESSIONS, user=USERS, title=st.none() | WORDS)
    def first_session(self, user, title):
        return self.create(user, title)

    @rule(target=SESSIONS, user=USERS, title=st.none() | WORDS)
    def create(self, user, title):
        sid = self.store.create_session(user, title)
        self.model[sid] = Kept(user, title_from(title) if title else None, self.clock() + TTL)
        self.touched = sid
        return sid

    @rule(target=SESSIONS, user=USERS)
    def create_already_expired(self, user):
        """A session whose whole life ended before now: no read may show it."""
        with self.clock.shifted(-2 * TTL):
            return self.store.create_session(user, "expired")

    @rule(sid=SESSIONS, said=st.lists(st.tuples(ROLES, WORDS), min_size=1, max_size=MAX_MESSAGES + 2))
    def add_messages(self, sid, said):
        for role, word in said:
            self.add_message(sid, role, f"{word} #{next(self.numbers)}")
        self.touched = sid

    def add_message(self, sid: str, role: str, content: str) -> None:
        kept = self.model.get(sid)
        if kept is None:
            with pytest.raises(SessionNotFound):
                self.store.add_message(sid, role, content)
            return
        message = self.store.add_message(sid, role, content)
        assert (message.role, message.content) == (role, content)
        kept.add(message, self.clock())

    @rule(sid=SESSIONS, word=WORDS)
    def rename(self, sid, word):
        if sid not in self.model:
            with pytest.raises(SessionNotFound):
                self.store.rename_session(sid, word)
            return
        self.store.rename_session(sid, f"  {word}\nrenamed ")
        self.model[sid].title = title_from(f"{word} renamed")
        self.touched = sid

    @rule(sid=SESSIONS, pinned=st.booleans())
    def pin(self, sid, pinned):
        call = self.store.pin_session if pinned else self.store.unpin_session
        kept = self.model.get(sid)
        if kept is None:
            with pytest.raises(SessionNotFound):
                call(sid)
            return
        call(sid)
        kept.pinned = pinned
        kept.deadline = None if pinned else self.clock() + TTL
        self.touched = sid

    @rule(sid=SESSIONS, ttl=st.sampled_from([None, 60, 600, 7200]))
    def extend(self, sid, ttl):
        kept = self.model.get(sid)
        if kept is None:
            with pytest.raises(SessionNotFound):
                self.store.extend_session(sid, ttl)
            return
        left = self.store.extend_session(sid, ttl)
        if kept.pinned:
            assert left is None
        else:
            kept.deadline = self.clock() + (ttl or TTL)
            assert left is not None and abs(left - (ttl or TTL)) <= TTL_SLACK
        self.touched = sid

    @rule(sid=SESSIONS)
    def clear(self, sid):
        assert self.store.clear_session(sid) is (self.model.pop(sid, None) is not None)
        self.touched = sid

    # ---------------------------------------------------------------- reads
    touched: str | None = None

    @invariant()
    def touched_session_matches(self):
        """The session the last rule changed, as the model has it (cheap: every step)."""
        if self.touched is not None:
            self.check_session(self.touched)

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

    @rule(sid=SESSIONS, n=st.integers(0, MAX_MESSAGES + 1))
    def last_n_messages(self, sid, n):
        expected = self.model[sid].messages[-n:] if sid in self.model and n else []
        assert _ids(self.store.get_last_n_messages(sid, n)) == _ids(expected)

    @rule(sid=SESSIONS)
    def ttl(self, sid):
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

    @rule()
    def everything_matches(self):
        """Every session, every listing, every search and the stats, as the model has them."""
        for sid in self.model:
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

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:  # a run that went well ends with a full check
                self.everything_matches()
        finally:
            self.store.close()
            shutil.rmtree(self.data_dir, ignore_errors=True)


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
            content = f"{word} #{next(self.numbers)} (other client)"
            if sid not in self.model:
                with pytest.raises(SessionNotFound):
                    other.add_message(sid, "user", content)
                return
            self.model[sid].add(other.add_message(sid, "user", content), self.clock())
        finally:
            other.close()
        self.touched = sid


class LocalMachine(ReopenableMachine):
    def target(self) -> str:
        return "local"


class RedisMachine(ReopenableMachine):
    url = ""

    def target(self) -> str:
        return self.url

    def __init__(self) -> None:
        redis.Redis.from_url(self.url).flushall()
        super().__init__()


def test_memory_store_matches_the_model():
    run_state_machine_as_test(MemoryMachine, settings=_settings(40, 50))


def test_local_store_matches_the_model():
    run_state_machine_as_test(LocalMachine, settings=_settings(25, 50))


def test_redis_store_matches_the_model(redis_url):
    RedisMachine.url = redis_url
    run_state_machine_as_test(RedisMachine, settings=_settings(25, 50))
