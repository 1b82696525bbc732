"""Redis with a safety net: when Redis goes away, writes land in a durable local outbox.

While degraded, every write goes to the outbox (a local store with its own journal) under
the same session id, and reads combine what Redis last showed with what is pending. Once
Redis answers again (probed at most once a second), the outbox is replayed into it in
order, keeping each message's id and timestamp; messages Redis already holds are not
pushed twice. Pending writes survive a restart of the app: they are replayed on the
next start that reaches Redis.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

import redis

from .models import Message, Session, SessionNotFound, StoreStats, StoreUnavailable
from .store import SessionStore

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
PROBE_INTERVAL = 1.0
REMEMBERED_HISTORIES = 32


class FailoverStore:
    """The SessionStore interface over a Redis store, falling back to a local outbox."""

    def __init__(self, primary: SessionStore, outbox: SessionStore) -> None:
        self.primary = primary
        self.outbox = outbox
        self.backend = "redis"
        self.location = primary.location
        self.latency = primary.latency
        self.probe_interval = PROBE_INTERVAL
        self._degraded = False
        self._last_probe = 0.0
        self._lock = threading.RLock()
        self._seen: OrderedDict[str, list[Message]] = OrderedDict()  # what Redis last showed
        if self.outbox.count_sessions():
            self._recover()

    # -------------------------------------------------------------- health
    @property
    def health(self) -> str:
        return "degraded — saving locally" if self._degraded else "ok"

    @property
    def degraded(self) -> bool:
        return self._degraded

    def describe(self) -> str:
        if self._degraded:
            return f"Redis ✗ degraded — saving locally until {self.location} is back"
        return self.primary.describe()

    def _call(self, method: str, *args, fallback: Callable[[], Any], **kwargs) -> Any:
        """Run on Redis when it answers; otherwise go degraded and use `fallback`."""
        with self._lock:
            if self._degraded and time.monotonic() - self._last_probe >= self.probe_interval:
                self._recover()
            if not self._degraded:
                try:
                    return getattr(self.primary, method)(*args, **kwargs)
                except REDIS_DOWN as exc:
                    log.warning("Redis unreachable (%s): saving locally until it is back", exc)
                    self._degraded = True
                    self._last_probe = time.monotonic()
            return fallback()

    def _recover(self) -> None:
        """Probe Redis; if it answers, replay the outbox into it and leave degraded mode."""
        self._last_probe = time.monotonic()
        try:
            self.primary.ping()
            self._replay_outbox()
        except REDIS_DOWN:
            self._degraded = True
            return
        if self._degraded:
            log.warning("Redis is back: pending messages replayed")
        self._degraded = False

    def _replay_outbox(self) -> None:
        for pending in self.outbox.get_all_active_sessions(None, limit=1_000_000):
            messages = self.outbox.get_conversation_history(pending.id)
            target = self.primary.get_session(pending.id)
            if target is None:
                self.primary.create_session(pending.user_id, pending.title or None, session_id=pending.id)
                have: set[str] = set()
            else:
                tail = self.primary.get_last_n_messages(pending.id, len(messages) + 1)
                have = {m.id for m in tail}
            for m in messages:
                if m.id not in have:
                    self.primary.add_message(
                        pending.id, m.role, m.content, m.sources, message_id=m.id, timestamp=m.timestamp
                    )
            self.outbox.clear_session(pending.id)  # only once all of it is in Redis

    # ---------------------------------------------------------- the outbox
    def _outbox_session(self, sid: str) -> None:
        """Make sure the outbox has a session `sid` to write pending messages into."""
        if self.outbox.get_session(sid) is None:
            owner = self.primary._owners.get(sid)
            if owner is None:
                raise SessionNotFound(f"session {sid}: unknown while Redis is unreachable")
            self.outbox.create_session(owner, session_id=sid)

    def _remember(self, sid: str, messages: list[Message]) -> list[Message]:
        self._seen[sid] = messages
        self._seen.move_to_end(sid)
        while len(self._seen) > REMEMBERED_HISTORIES:
            self._seen.popitem(last=False)
        return messages

    def _local_history(self, sid: str) -> list[Message]:
        pending = self.outbox.get_conversation_history(sid) if self.outbox.get_session(sid) else []
        known = {m.id for m in pending}
        return [m for m in self._seen.get(sid, []) if m.id not in known] + pending

    # ------------------------------------------------------------ writes
    def create_session(self, user_id: str, title: str | None = None, *, session_id: str | None = None) -> str:
        return self._call(
            "create_session", user_id, title, session_id=session_id,
            fallback=lambda: self.outbox.create_session(user_id, title, session_id=session_id),
        )

    def add_message(self, session_id: str, role: str, content: str, sources=(), **kwargs) -> Message:
        def pending() -> Message:
            self._outbox_session(session_id)
            return self.outbox.add_message(session_id, role, content, sources, **kwargs)

        return self._call("add_message", session_id, role, content, sources, fallback=pending, **kwargs)

    def _write(self, method: str, session_id: str, *args) -> Any:
        def pending() -> Any:
            self._outbox_session(session_id)
            return getattr(self.outbox, method)(session_id, *args)

        return self._call(method, session_id, *args, fallback=pending)

    def rename_session(self, session_id: str, title: str) -> None:
        return self._write("rename_session", session_id, title)

    def pin_session(self, session_id: str) -> None:
        return self._write("pin_session", session_id)

    def unpin_session(self, session_id: str) -> None:
        return self._write("unpin_session", session_id)

    def extend_session(self, session_id: str, ttl: int | None = None) -> int | None:
        return self._write("extend_session", session_id, ttl)

    def clear_session(self, session_id: str) -> bool:
        def refuse() -> bool:
            # not queued: a delete replayed later could remove what another device wrote since
            raise StoreUnavailable(f"Redis at {self.location} is unreachable: delete again once it is back")

        return self._call("clear_session", session_id, fallback=refuse)

    # ------------------------------------------------------------- reads
    def get_session(self, session_id: str) -> Session | None:
        return self._call("get_session", session_id, fallback=lambda: self.outbox.get_session(session_id))

    def ttl(self, session_id: str) -> int | None:
        return self._call("ttl", session_id, fallback=lambda: self.outbox.ttl(session_id))

    def get_messages(self, session_id: str, start: int = 0, end: int = -1) -> list[Message]:
        def local() -> list[Message]:
            history = self._local_history(session_id)
            return history[start : None if end == -1 else end + 1] if start >= 0 else history[start:]

        result = self._call("get_messages", session_id, start, end, fallback=local)
        if not self._degraded and start == 0 and end == -1:
            self._remember(session_id, result)
        return result

    def get_conversation_history(self, session_id: str) -> list[Message]:
        return self.get_messages(session_id, 0, -1)

    def get_last_n_messages(self, session_id: str, n: int) -> list[Message]:
        result = self._call(
            "get_last_n_messages", session_id, n,
            fallback=lambda: self._local_history(session_id)[-n:] if n > 0 else [],
        )
        if not self._degraded:
            self._remember(session_id, result)
        return result

    def format_history_as_context(self, session_id: str, n: int = 10) -> str:
        return "\n".join(f"{m.role.capitalize()}: {m.content}" for m in self.get_last_n_messages(session_id, n))

    def get_all_active_sessions(self, user_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Session]:
        return self._call(
            "get_all_active_sessions", user_id, limit, offset,
            fallback=lambda: self.outbox.get_all_active_sessions(user_id, limit, offset),
        )

    def search_sessions(self, user_id: str, text: str, limit: int = 50) -> list[Session]:
        return self._call(
            "search_sessions", user_id, text, limit,
            fallback=lambda: self.outbox.search_sessions(user_id, text, limit),
        )

    def count_sessions(self) -> int:
        return self._call("count_sessions", fallback=self.outbox.count_sessions)

    def get_session_stats(self) -> StoreStats:
        def local() -> StoreStats:
            stats = self.outbox.get_session_stats()
            stats.backend = "redis"
            stats.location = self.location
            return stats

        stats = self._call("get_session_stats", fallback=local)
        stats.health = self.health
        stats.server["pending_sessions"] = self.outbox.count_sessions()
        return stats

    def ping(self) -> bool:
        return self._call("ping", fallback=lambda: False)

    def close(self) -> None:
        self.primary.close()
        self.outbox.close()
