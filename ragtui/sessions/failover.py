"""Redis with a safety net: when Redis goes away, writes land in a durable local outbox.

While degraded (Redis unreachable, or refusing writes, e.g. out of memory), every write
goes to the outbox — a local store with its own journal — under the same session and
message ids, and reads combine what Redis last showed this process with what is pending.
A background thread probes Redis (no caller waits on a probe, and no lock is held across
a network call); once Redis answers, the outbox is replayed into it in the order things
were done — messages with their ids and times, and the renames, pins, unpins and
extensions made between them — and each session leaves degraded mode as soon as all of
it is in Redis. Redis skips a message id it already holds, so a call that timed out but
did land is not stored twice, nor is the retry of an add that raised (the same text again
gets the first attempt's id). One process replays at a time (a lock file beside the
outbox); a write that meets another process's replay of its session goes again. A
session whose replay Redis refuses stays pending, named in `health`, without holding up
the others or new writes. Pending writes survive a restart of the app.

Unreachable is not expired: only an answer from Redis makes a session "not found".
"""
from __future__ import annotations

import dataclasses
import fcntl
import logging
import math
import os
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, overload

import redis

from . import redis_errors
from .connection import one_deadline
from .models import Message, Session, SessionNotFound, StoreError, StoreStats, StoreUnavailable
from .store import ROLES, SessionStore, as_context, new_message_id, new_session_id

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
NOT_SAVED = REDIS_DOWN + (StoreUnavailable,)  # a write Redis did not take: keep it locally
REFUSED = (StoreError, redis.RedisError, ValueError, KeyError, TypeError)  # Redis answered, but no
PROBE_INTERVAL = 1.0
REMEMBERED_HISTORIES = 32
REMEMBERED_SESSIONS = 1000
EVERYTHING = 1 << 30
WRITE_TRIES = 3  # a write racing other processes' replays of the shared outbox


def _probe(store_ref: "weakref.ref[FailoverStore]") -> None:
    """The prober thread: holds the store only while probing, so one dropped unclosed
    (a one-shot command) is collected and its thread ends."""
    while (store := store_ref()) is not None:
        closed, interval = store._closed, store.probe_interval
        del store
        if closed.wait(interval) or (store := store_ref()) is None:
            return
        try:
            if not store._probe_once():
                return
        except Exception:  # keep probing: a pending write must not be stranded by one bad try
            log.exception("replaying pending writes into Redis failed; trying again")
        del store


def _why(exc: BaseException) -> str:
    """The reason the header shows: "Redis is unreachable", or what a reconnect met instead
    (a password changed meanwhile: "authentication failed (…)"; a certificate: "TLS failed: …")."""
    return str(exc) if isinstance(exc, StoreUnavailable) else redis_errors.reason(exc)


class FailoverStore:
    """The SessionStore interface over a Redis store, falling back to a local outbox."""

    def __init__(self, primary: SessionStore, outbox: SessionStore, *, replay_lock: Path,
                 unreachable: str | None = None) -> None:
        self.primary = primary
        self.outbox = outbox  # everyone's pending sessions (one outbox per data dir): acts for all
        self.user = primary.user  # whose sessions this store shows (None: everyone's)
        self.keys = primary.keys
        self.backend = "redis"
        self.location = primary.location
        self.latency = primary.latency
        self.probe_interval = PROBE_INTERVAL
        self._replay_lock = replay_lock
        self._lock = threading.Lock()  # guards the state below; never held across a network call
        self._replaying = threading.Lock()  # one replay per process (the lock file: per data dir)
        self._degraded = unreachable is not None  # writes go to the outbox
        self._refusing = False  # degraded because Redis refuses writes: it still answers reads
        self._reason = unreachable or ""
        self._pending: set[str] = set(self._outbox_ids())  # sessions with something in the outbox
        self._waiting: dict[str, str] = {}  # session -> why Redis refused its replay
        self._known: OrderedDict[str, Session] = OrderedDict()  # what Redis last showed
        self._expires: OrderedDict[str, float] = OrderedDict()  # session -> when it expires (monotonic; inf: never)
        self._seen: OrderedDict[str, list[Message]] = OrderedDict()
        self._queued_by: OrderedDict[str, str] = OrderedDict()  # session -> owner, as saved in the outbox here
        self._unsure: OrderedDict[str, tuple[str, str, str]] = OrderedDict()  # session -> role, content, id of an add that raised
        self._closed = threading.Event()
        self._synced = threading.Event()  # set while nothing is pending and Redis takes writes
        self._prober: threading.Thread | None = None
        if self._degraded:
            log.info("Redis at %s: %s: saving sessions locally until it is back", self.location, unreachable)
            self._ensure_prober()
        elif self._pending:
            self.sync()
        else:
            self._synced.set()

    # -------------------------------------------------------------- health
    @property
    def degraded(self) -> bool:
        return self._degraded

    @property
    def _readable(self) -> bool:
        return not self._degraded or self._refusing

    @property
    def health(self) -> str:
        problems = [f"saving locally: {self._reason}"] if self._degraded else []
        if self._waiting:
            n = len(self._waiting)
            reasons = "; ".join(sorted(set(self._waiting.values())))
            problems.append(f"{n} session{'s' if n > 1 else ''} waiting: {reasons}")
        return "degraded — " + "; ".join(problems) if problems else "ok"

    @property
    def fallback_reason(self) -> str | None:
        """Why sessions are being saved locally right now; None while Redis takes them."""
        return f"{self._reason} ({self.location})" if self._degraded else None

    def describe(self) -> str:
        if self._degraded:
            return (f"Redis ✗ degraded — {self._reason} ({self.location}): showing what this machine "
                    f"knows and saving here until it is back ({len(self._pending)} session(s) pending)")
        return self.primary.describe()

    def _lost_redis(self, exc: BaseException) -> None:
        with self._lock:
            if not self._degraded:
                said = _why(exc) if _why(exc) == str(exc) else f"{_why(exc)} ({exc})"  # once, with any detail
                log.warning("Redis at %s: %s: saving locally until it is back", self.location, said)
            self._degraded = True
            self._refusing = isinstance(exc, StoreUnavailable)
            self._reason = _why(exc)
            self._synced.clear()
        self._ensure_prober()

    def _unknown(self, what: str) -> StoreUnavailable:
        return StoreUnavailable(f"Redis at {self.location}: {self._reason or 'unreachable'}: {what} is not known here")

    # ------------------------------------------------------ probe and replay
    def _ensure_prober(self) -> None:
        with self._lock:
            if self._closed.is_set() or (self._prober and self._prober.is_alive()):
                return
            self._prober = threading.Thread(target=_probe, args=(weakref.ref(self),),
                                            name="ragtui-redis-probe", daemon=True)
            self._prober.start()

    def _probe_once(self) -> bool:
        """One background probe (and replay); False once there is nothing left to do."""
        self._replay(wait=False)
        with self._lock:
            if self._degraded or self._pending:
                return True
            self._prober = None
            return False

    def sync(self) -> bool:
        """Probe Redis and replay what is pending, in this thread; True when nothing is left."""
        return self._replay(wait=True)

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until the background probe has replayed everything; False on timeout."""
        return self._synced.wait(timeout)

    @contextmanager
    def _replay_claim(self, wait: bool) -> Iterator[bool]:
        """This process's turn to replay the outbox (a flock on a file beside it)."""
        if not self._replaying.acquire(blocking=wait):
            yield False
            return
        fd = os.open(self._replay_lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False  # another process is replaying this outbox
                return
            yield True
        finally:
            os.close(fd)  # releases the flock
            self._replaying.release()

    def _replay(self, *, wait: bool) -> bool:
        try:
            self.primary.ping()
        except REDIS_DOWN as exc:
            self._lost_redis(exc)
            return False
        with self._replay_claim(wait) as mine:
            if not mine:
                return False
            refused: dict[str, str] = {}
            while True:
                todo = [s for s in self._outbox_sessions() if s.id not in refused]
                if not todo:
                    with self._lock:  # a writer may just have saved one: look again under the lock
                        left = set(self._outbox_ids())
                        if left - refused.keys():
                            continue
                        if self._degraded:
                            log.warning("Redis at %s is back: pending writes replayed", self.location)
                        self._pending = left
                        self._waiting = {sid: why for sid, why in refused.items() if sid in left}
                        self._degraded = self._refusing = False
                        self._reason = ""
                        if not left:
                            self._synced.set()
                        return not left
                for pending in todo:
                    try:
                        self._replay_session(pending)
                    except REDIS_DOWN as exc:
                        self._lost_redis(exc)
                        return False
                    except REFUSED as exc:  # refused (out of memory, foreign data, another user's id): this one waits
                        why = str(exc) if isinstance(exc, StoreUnavailable) else f"session {pending.id}: {exc}"
                        if self._waiting.get(pending.id) != why:  # said once, not at every probe
                            log.warning("session %s stays pending: %s", pending.id, exc)
                        refused[pending.id] = why

    def _replay_session(self, pending: Session) -> None:
        """Do again on Redis what the outbox holds for one session, in order, then forget it."""
        sid = pending.id
        changes = self.outbox.queued_changes(sid)  # first: a change made after the messages
        messages = self.outbox.get_conversation_history(sid)  # are read names one of them
        primary = self.primary.scoped(pending.user_id)  # the outbox may hold other users' sessions
        # made offline, or it expired meanwhile (a session Redis holds is left as it is, and
        # put back in the admin listing in case the write that lists it was what failed)
        primary.create_session(pending.user_id, pending.title or None, session_id=sid, model=pending.model)
        ids = {m.id for m in messages}
        after: dict[str | None, list[dict[str, Any]]] = {}
        for change in changes:  # a change after a message already replayed comes first
            after.setdefault(change["after"] if change["after"] in ids else None, []).append(change)
        for change in after.get(None, []):
            getattr(primary, change["call"])(sid, *change["args"])
        for m in messages:
            primary.add_message(sid, m.role, m.content, m.sources, message_id=m.id, timestamp=m.timestamp,
                                reply_to=m.reply_to)
            for change in after.get(m.id, []):
                getattr(primary, change["call"])(sid, *change["args"])
        with self._lock:
            if self.outbox.settle(sid, len(messages), len(changes)):
                self._pending.discard(sid)

    def _outbox_sessions(self) -> list[Session]:
        return self.outbox.get_all_active_sessions(None, limit=EVERYTHING)

    def _outbox_ids(self) -> list[str]:
        return [s.id for s in self._outbox_sessions()]

    # ---------------------------------------------------------- the outbox
    def _outbox_session(self, sid: str) -> None:
        """Make sure the outbox has a session `sid` to write pending changes into."""
        if self.outbox.get_session(sid) is None:
            owner = self._owner_seen(sid)
            if owner is None or self.user not in (None, owner):  # never queued under a guessed owner
                raise self._unknown(f"session {sid}")
            self.outbox.create_session(owner, session_id=sid)

    def _owner_seen(self, sid: str) -> str | None:
        """Whose session `sid` is, as Redis showed this process (listed, read or made here)."""
        known = self._known.get(sid)
        if known is not None:
            return known.user_id
        if self._seen.get(sid) and self.user is not None:  # messages read from this user's keys
            return self.user
        return self._queued_by.get(sid) or self.primary.known_owner(sid)

    def _save_locally(self, sid: str, write: Callable[[], Any]) -> Any:
        with self._lock:
            result = write()
            self._pending.add(sid)
            self._synced.clear()
            # remembered: another process may replay the session out of the outbox, and a
            # write after that, still degraded, puts it back there under the same owner
            if (owner := self.outbox.known_owner(sid)) is not None:
                _keep_newest(self._queued_by, sid, owner, REMEMBERED_SESSIONS)
        self._ensure_prober()
        return result

    def _write(self, sid: str, to_redis: Callable[[], Any], locally: Callable[[], Any]) -> Any:
        """Write to Redis, unless it is down or this session has writes still pending there.
        All its round trips and tries wait on Redis `redis_timeout` in all (`one_deadline`):
        once that is spent, the write is kept locally, as after a timeout."""
        if self._foreign(sid):
            raise SessionNotFound(f"session {sid} does not exist or has expired")
        with one_deadline():
            return self._write_within_deadline(sid, to_redis, locally)

    def _write_within_deadline(self, sid: str, to_redis: Callable[[], Any], locally: Callable[[], Any]) -> Any:
        for _ in range(WRITE_TRIES):
            if not (self._degraded or sid in self._pending):
                try:
                    return to_redis()
                except NOT_SAVED as exc:
                    self._lost_redis(exc)
                except SessionNotFound:
                    if not self._pending_here(sid):
                        raise
            try:
                return self._save_locally(sid, locally)
            except SessionNotFound:
                # Another process replayed (or deleted) the session out of the outbox between
                # our look and our write: not "expired". Go again: to Redis, which has it now,
                # or back into the outbox while Redis is away.
                with self._lock:
                    if self.outbox.get_session(sid) is None:
                        self._pending.discard(sid)
        raise StoreUnavailable(f"session {sid}: other processes kept replaying it while this one wrote: try again")

    def _foreign(self, sid: str) -> bool:
        """Another user's session, pending in the outbox all users of this machine share:
        not for this store (acting for one user) to see or change."""
        if self.user is None or sid not in self._pending:
            return False
        owner = self.outbox.owner_of(sid)
        return owner is not None and owner != self.user

    def _pending_here(self, sid: str) -> bool:
        """Whether the outbox holds `sid` (another process may have put it there)."""
        if sid in self._pending:
            return not self._foreign(sid)
        pending = self.outbox.get_session(sid)
        if pending is None or self.user not in (None, pending.user_id):
            return False
        with self._lock:
            self._pending.add(sid)
            self._synced.clear()
        self._ensure_prober()
        return True

    # ------------------------------------------------------------ writes
    def create_session(self, user_id: str, title: str | None = None, *, session_id: str | None = None,
                       model: str = "") -> str:
        sid = session_id or new_session_id()  # one id, whichever store takes it
        return self._write(
            sid,
            lambda: self.primary.create_session(user_id, title, session_id=sid, model=model),
            lambda: self.outbox.create_session(user_id, title, session_id=sid, model=model),
        )

    def add_message(self, session_id: str, role: str, content: str, sources=(), *,
                    message_id: str | None = None, timestamp: float | None = None,
                    reply_to: str | None = None) -> Message:
        if role not in ROLES:  # before anything is written anywhere
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        timestamp = self.primary.clock() if timestamp is None else timestamp
        # kept by the replay; and by a retry of an add that raised (the same text again), which
        # may have landed anyway (Redis applied it, its reply was lost, the outbox was full)
        unsure = self._unsure.get(session_id)
        if message_id is None and unsure is not None and unsure[:2] == (role, content):
            message_id = unsure[2]
        message_id = message_id or new_message_id(timestamp)

        def add(store: SessionStore) -> Message:
            return store.add_message(session_id, role, content, sources, message_id=message_id, timestamp=timestamp,
                                     reply_to=reply_to)

        def locally() -> Message:  # runs under self._lock
            self._outbox_session(session_id)
            message = add(self.outbox)
            # shown by this process even if another one replays the outbox before this one sees
            # Redis (then it is in neither what this one saw nor what is pending)
            seen = self._seen.get(session_id)
            if seen is None:  # made offline, or not read here yet
                self._keep_seen(session_id, [message])
            elif not (seen and seen[-1].id == message.id):  # a retry: once
                seen.append(message)
                del seen[: -self.primary.max_messages]
            return message

        try:
            message = self._write(session_id, lambda: add(self.primary), locally)
        except BaseException:
            with self._lock:
                _keep_newest(self._unsure, session_id, (role, content, message_id), REMEMBERED_SESSIONS)
            raise
        if unsure is not None:
            with self._lock:
                self._unsure.pop(session_id, None)
        return message

    def _change(self, call: str, session_id: str, *args) -> Any:
        def locally() -> Any:
            self._outbox_session(session_id)
            self.outbox.defer(session_id, call, *args)

        return self._write(session_id, lambda: getattr(self.primary, call)(session_id, *args), locally)

    def rename_session(self, session_id: str, title: str) -> None:
        self._change("rename_session", session_id, title)

    def set_session_model(self, session_id: str, model: str) -> None:
        self._change("set_session_model", session_id, model)

    def pin_session(self, session_id: str) -> None:
        self._change("pin_session", session_id)
        self._expire_in(session_id, None)

    def unpin_session(self, session_id: str) -> None:
        self._change("unpin_session", session_id)
        self._expire_in(session_id, self.primary.default_ttl or None)  # as set, not "only ever later"

    def extend_session(self, session_id: str, ttl: int | None = None) -> int | None:
        left = self._change("extend_session", session_id, ttl)
        if session_id in self._pending and left is None:  # queued: the countdown restarts on replay
            session = self.get_session(session_id)
            if session is None or session.pinned:
                return None
            # as the replay will set it: as asked, or this store's TTL but never earlier than
            # the deadline known here (another device's longer TTL, an earlier explicit extend)
            left = (ttl or None) if ttl is not None else self._later_ttl(session_id)
        self._expire_in(session_id, left)
        return left

    def _expire_in(self, sid: str, ttl: int | None) -> None:
        """Remember that the session expires `ttl` seconds from now (None: never)."""
        with self._lock:
            _keep_newest(self._expires, sid, math.inf if ttl is None else time.monotonic() + ttl,
                         REMEMBERED_SESSIONS)

    def _known_ttl(self, sid: str) -> int | None:
        """Seconds left as last known here (None: never); 0 when not known."""
        deadline = self._expires.get(sid, 0.0)
        return None if deadline == math.inf else max(math.ceil(deadline - time.monotonic()), 0)

    def _ttl_here(self, sid: str, otherwise: int | None) -> int | None:
        """Seconds left as known here, with the extends and unpins made since; else `otherwise`."""
        return self._known_ttl(sid) if sid in self._expires else otherwise

    def _later_ttl(self, sid: str) -> int | None:
        """This store's TTL, or the session's time left if that is later (None: never)."""
        own, had = self.primary.default_ttl or None, self._known_ttl(sid)
        return None if own is None or had is None else max(own, had)

    def clear_session(self, session_id: str) -> bool:
        if not self._readable:
            # not queued: a delete replayed later could remove what another device wrote since
            raise StoreUnavailable(f"Redis at {self.location}: {self._reason}: delete again once it is back")
        try:
            with one_deadline():
                deleted = self.primary.clear_session(session_id)
        except REDIS_DOWN as exc:
            self._lost_redis(exc)
            raise StoreUnavailable(f"Redis at {self.location} is unreachable: delete again once it is back") from None
        if session_id in self._pending and not self._foreign(session_id):  # e.g. its replay was refused
            with self._lock:
                deleted = self.outbox.clear_session(session_id) or deleted
                self._pending.discard(session_id)
                self._waiting.pop(session_id, None)
        with self._lock:
            self._known.pop(session_id, None)
            self._expires.pop(session_id, None)
            self._seen.pop(session_id, None)
        return deleted

    # ------------------------------------------------------------- reads
    def _know(self, sessions: list[Session]) -> None:
        now = time.monotonic()
        with self._lock:
            for s in sessions:
                _keep_newest(self._known, s.id, s, REMEMBERED_SESSIONS)
                _keep_newest(self._expires, s.id, math.inf if s.ttl is None else now + s.ttl, REMEMBERED_SESSIONS)

    def _remember(self, sid: str, messages: list[Message]) -> None:
        with self._lock:
            self._keep_seen(sid, messages)

    def _keep_seen(self, sid: str, messages: list[Message]) -> None:  # under self._lock
        # a copy: `_remember_newest` extends it in place
        _keep_newest(self._seen, sid, list(messages), REMEMBERED_HISTORIES)

    def _remember_newest(self, sid: str, newest: list[Message]) -> None:
        """Add the newest messages to what was seen of the session, for reads in an outage."""
        with self._lock:
            seen = self._seen.get(sid)
            ids = [m.id for m in newest]
            if seen and seen[-1].id in ids:  # the usual case: what came after the last read
                seen.extend(newest[ids.index(seen[-1].id) + 1 :])
                del seen[: -self.primary.max_messages]
                self._seen.move_to_end(sid)
                return
        self._remember(sid, newest)

    @overload
    def _with_pending(self, sid: str, known: Session) -> Session: ...
    @overload
    def _with_pending(self, sid: str, known: Session | None) -> Session | None: ...

    def _with_pending(self, sid: str, known: Session | None) -> Session | None:
        """A session as Redis showed it (or None) with what is pending locally on top."""
        pending = self.outbox.get_session(sid) if sid in self._pending and not self._foreign(sid) else None
        if pending is None:
            return known
        if known is None:
            ttl = None if pending.pinned else self._ttl_here(sid, self.primary.default_ttl or None)
            return dataclasses.replace(pending, ttl=ttl)
        try:
            calls = [c["call"] for c in self.outbox.queued_changes(sid)]
        except SessionNotFound:  # another process replayed it out of the outbox since the look above
            return known
        pins = [c for c in calls if c in ("pin_session", "unpin_session")]
        pinned = pins[-1] == "pin_session" if pins else known.pinned
        return dataclasses.replace(
            known,
            title=pending.title if "rename_session" in calls else known.title or pending.title,
            model=pending.model if "set_session_model" in calls else known.model,
            message_count=known.message_count + pending.message_count,
            last_activity=max(known.last_activity, pending.last_activity),
            pinned=pinned,
            ttl=None if pinned else self._ttl_here(sid, known.ttl),
        )

    def get_session(self, session_id: str) -> Session | None:
        if self._readable:
            try:
                session = self.primary.get_session(session_id)
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
            else:
                if session is not None:
                    self._know([session])
                elif not self._pending_here(session_id):
                    return None  # Redis answered: it does not exist
                return self._with_pending(session_id, session)
        known = self._known.get(session_id)
        if known is None and session_id not in self._pending:
            raise self._unknown(f"session {session_id}")
        return self._with_pending(session_id, known)

    def ttl(self, session_id: str) -> int | None:
        if self._readable:
            try:
                left = self.primary.ttl(session_id)
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
            except SessionNotFound:
                session = self.get_session(session_id) if self._pending_here(session_id) else None
                if session is None:
                    raise
                return session.ttl  # made offline, its replay refused so far
            else:
                self._expire_in(session_id, left)
                return left
        raise StoreUnavailable(f"Redis at {self.location}: {self._reason}: time left unknown")

    def _local_history(self, sid: str) -> list[Message]:
        """What Redis last showed of a session (with what this process saved or showed from
        the outbox since), then what is pending for it."""
        if sid not in self._seen and sid not in self._pending and sid not in self._known:
            raise self._unknown(f"session {sid}")
        pending = self.outbox.get_conversation_history(sid) if sid in self._pending and not self._foreign(sid) else []
        held = {m.id for m in pending}
        with self._lock:
            history = [m for m in self._seen.get(sid, []) if m.id not in held] + pending
            if pending:  # still shown after another process replays them out of the outbox
                self._keep_seen(sid, history[-self.primary.max_messages:])
        return history

    def get_messages(self, session_id: str, start: int = 0, end: int = -1) -> list[Message]:
        if self._readable:
            try:
                if session_id not in self._pending:
                    result = self.primary.get_messages(session_id, start, end)
                    if start == 0 and end == -1:
                        self._remember(session_id, result)
                    return result
                self._remember(session_id, self.primary.get_conversation_history(session_id))
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
        history = self._local_history(session_id)
        return history[start : None if end == -1 else end + 1] if start >= 0 else history[start:]

    def get_conversation_history(self, session_id: str) -> list[Message]:
        return self.get_messages(session_id, 0, -1)

    def get_last_n_messages(self, session_id: str, n: int) -> list[Message]:
        if n <= 0:
            return []
        if self._readable and session_id not in self._pending:
            try:
                newest = self.primary.get_last_n_messages(session_id, n)
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
            else:
                self._remember_newest(session_id, newest)
                return newest
        return self.get_messages(session_id, -n, -1)

    def format_history_as_context(self, session_id: str, n: int = 10) -> str:
        return as_context(self.get_last_n_messages(session_id, n))

    def _local_listing(self, user_id: str | None) -> list[Session]:
        """Sessions known here: what Redis last showed and what is pending, newest first."""
        user_id = self.user if user_id is None else user_id
        with self._lock:
            sids = self._pending | set(self._known)
        sessions = [self._with_pending(sid, self._known.get(sid)) for sid in sids]
        mine = [s for s in sessions if s is not None and (user_id is None or s.user_id == str(user_id))]
        return sorted(mine, key=lambda s: s.last_activity, reverse=True)

    def _merge_pending(self, listed: list[Session], user_id: str | None, limit: int, offset: int) -> list[Session]:
        """Redis's page of a listing, with pending changes on top (and, on the first page,
        sessions made while Redis was away and not in it yet)."""
        page = [self._with_pending(s.id, s) if s.id in self._pending else s for s in listed]
        user_id = self.user if user_id is None else user_id
        if offset == 0:
            with self._lock:
                made_here = self._pending - {s.id for s in page}
            extra = [self._with_pending(sid, None) for sid in made_here]
            page += [s for s in extra if s is not None and (user_id is None or s.user_id == str(user_id))]
            page.sort(key=lambda s: s.last_activity, reverse=True)
        return page[:limit]

    def get_all_active_sessions(self, user_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Session]:
        if self._readable:
            try:
                listed = self.primary.get_all_active_sessions(user_id, limit, offset)
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
            else:
                self._know(listed)
                return self._merge_pending(listed, user_id, limit, offset) if self._pending else listed
        return self._local_listing(user_id)[offset : offset + limit]

    def search_sessions(self, user_id: str, text: str, limit: int = 50) -> list[Session]:
        if self._readable:
            try:
                found = self.primary.search_sessions(user_id, text, limit)
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
            else:
                if not self._pending:
                    return found
                extra = [s for s in self.outbox.search_sessions(user_id, text, limit) if s.id not in {f.id for f in found}]
                return self._merge_pending(found + extra, user_id, limit, 1)
        needle = text.casefold().strip()
        matches = [
            s for s in self._local_listing(user_id)
            if needle in s.title.casefold()
            or any(needle in m.content.casefold() for m in self._local_history(s.id))
        ]
        return matches[:limit]

    def iter_search_sessions(self, user_id: str, text: str, page: int = 100) -> Iterator[list[Session]]:
        if self._readable and not self._pending:
            try:
                yield from self.primary.iter_search_sessions(user_id, text, page)
                return
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
        yield self.search_sessions(user_id, text, EVERYTHING)

    def find_sessions(self, text: str, limit: int = 50, offset: int = 0) -> list[Session]:
        if self._readable:
            try:
                return self.primary.find_sessions(text, limit, offset)
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
        needle = text.casefold().strip()
        found = [s for s in self._local_listing(None)
                 if any(needle in v.casefold() for v in (s.user_id, s.id, s.title))]
        return found[offset : offset + limit]

    def owner_of(self, session_id: str) -> str | None:
        session = self.get_session(session_id)
        return session.user_id if session is not None else None

    def user_version(self, user_id: str) -> int:
        """Redis's change counter. Not asked while Redis is known to be away (live sync asks
        every check, and each would wait out `redis_timeout` on a paused server): unknown,
        until the background probe finds Redis back."""
        if not self._readable:
            raise self._unknown("the change counter")
        try:
            return self.primary.user_version(user_id)
        except REDIS_DOWN as exc:
            self._lost_redis(exc)
            raise StoreUnavailable(f"Redis at {self.location} is unreachable") from None

    @property
    def sharded(self) -> bool:
        return self.primary.sharded

    def event_client(self):
        return self.primary.event_client()

    def count_sessions(self, user_id: str | None = None) -> int:
        if self._readable:
            try:
                return self.primary.count_sessions(user_id)
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
        return len(self._local_listing(user_id))

    def get_session_stats(self) -> StoreStats:
        stats = None
        if self._readable:
            try:
                stats = self.primary.get_session_stats()
            except REDIS_DOWN as exc:
                self._lost_redis(exc)
        if stats is None:
            listing = self._local_listing(None)
            stats = StoreStats(backend="redis", health="", sessions=len(listing),
                               messages=sum(s.message_count for s in listing), memory_bytes=None,
                               latency_ms=self.latency.summary(), location=self.location,
                               users=len({s.user_id for s in listing}))
        stats.health = self.health
        stats.server["pending_sessions"] = len(self._pending)
        return stats

    def migrate_layout(self) -> int:
        """Redis's sessions to the current key layout (`ragtui sessions migrate`)."""
        return self.primary.migrate_layout()

    def ping(self) -> bool:
        try:
            return self.primary.ping()
        except REDIS_DOWN as exc:
            self._lost_redis(exc)
            return False

    def close(self) -> None:
        self._closed.set()
        prober = self._prober
        if prober is not None and prober is not threading.current_thread():
            prober.join(timeout=5)
        self.primary.close()
        self.outbox.close()


def _keep_newest(remembered: OrderedDict, key: Any, value: Any, limit: int) -> None:
    """Remember `key` as the newest entry, forgetting the oldest beyond `limit`."""
    remembered[key] = value
    remembered.move_to_end(key)
    while len(remembered) > limit:
        remembered.popitem(last=False)
