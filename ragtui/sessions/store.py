"""SessionStore: sessions and their messages over any redis-py-compatible client.

Every change is a *record* (a small dict with absolute times) applied by `_apply_<op>`.
Redis runs records directly; the local backend also appends them to a journal, and
replays the journal on start — the same code path, so the two cannot drift apart.

Keys: layout v2, by owner — see keys.py. Every change to a session is one Lua script over
that user's keys (one Redis Cluster slot): it also keeps the user's counters (sessions,
messages, changes) and publishes one event on the user's channel. The admin listing is
written apart, after a create or delete, and repaired when a read meets a dead entry.

A store acts for one user (`user="alice"`: a bare session id resolves inside alice's keys,
so bob's ids are simply not found) or for everyone (`user=None`, admin: a session id's
owner is looked up in the admin listing).
"""
from __future__ import annotations

import copy
import json
import logging
import math
import secrets
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, cast

import redis

from ..conversation import conversation_order
from . import redis_errors
from .keys import LAYOUT_VERSION, Keys, LegacyKeys
from .models import (AccessDenied, CorruptSession, Message, Session, SessionNotFound, StoreError, StoreStats,
                     StoreUnavailable)

log = logging.getLogger(__name__)
_to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps builds an encoder per call

TITLE_LENGTH = 60
ROLES = ("user", "assistant", "system")
LISTING_BATCH = 100
PRUNE_BUDGET = 200  # expired sessions forgotten per user per call: pruning is a small step, never a walk
REPAIR_INTERVAL = 60.0  # seconds between walks that put back sessions the admin listing lacks
FIND_SLICE = 500  # sessions one step of the admin's search looks at: ~2 ms of Redis (bench/admin_find.py)
# Seconds a search's matches serve page turns and the admin panel's refreshes (every 2 s)
# before it runs again: a session made or renamed since shows up that much later.
FIND_FRESH = 60.0

# Take a session out of its user's counters (deleted, replaced, or found expired).
FORGET_COUNTS = """
local function forget_counts(sizes, counts, sid)
  local n = redis.call('HGET', sizes, sid)
  if n then
    redis.call('HINCRBY', counts, 'messages', 0 - tonumber(n))  -- never '-0': not an integer to Redis
    redis.call('HINCRBY', counts, 'sessions', -1)
    redis.call('HDEL', sizes, sid)
  end
end
"""
# Every session script takes the keys of Keys.session_keys and, first in ARGV, how to publish
# its event (command, channel, payload) and the session id. They look before they write:
# nothing is written to a session that expired.
SESSION_KEYS = """
local meta, messages, ids, listing, expiry, sizes, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local sid = ARGV[4]
"""
PRELUDE = SESSION_KEYS + """
local function notify()
  redis.call('HINCRBY', counts, 'changes', 1)
  if ARGV[2] ~= '' then redis.call(ARGV[1], ARGV[2], ARGV[3]) end
end
local function expire_at(deadline)
  if deadline == '' then
    redis.call('PERSIST', meta)
    redis.call('PERSIST', messages)
    redis.call('PERSIST', ids)
    redis.call('ZADD', expiry, '+inf', sid)
  else
    redis.call('PEXPIREAT', meta, deadline)
    redis.call('PEXPIREAT', messages, deadline)
    redis.call('PEXPIREAT', ids, deadline)
    redis.call('ZADD', expiry, deadline, sid)
  end
end
""" + FORGET_COUNTS

# ARGV[5..]: created_at, deadline ms ('' = never), title ('' = none), user, model ('' = not
# known yet). 1, or 0 if it exists.
CREATE = PRELUDE + """
if redis.call('EXISTS', meta) == 1 then return 0 end
forget_counts(sizes, counts, sid)
redis.call('HSET', meta, 'user_id', ARGV[8], 'created_at', ARGV[5], 'pinned', '0', 'model', ARGV[9])
if ARGV[7] ~= '' then redis.call('HSET', meta, 'title', ARGV[7]) end
expire_at(ARGV[6])
redis.call('ZADD', listing, ARGV[5], sid)
redis.call('HSET', sizes, sid, 0)
redis.call('HINCRBY', counts, 'sessions', 1)
notify()
return 1
"""

# One message, atomically and in one round trip. A script rather than MULTI because it can
# look before it writes: a session pinned by another device keeps no TTL. It skips a message
# whose id the session already holds: a call that timed out may still have landed, and its
# retry (or replay) carries the same id.
# ARGV[5..]: message JSON, max messages, deadline ms ('' = never), time s, title ('' = none),
# message id, '1' = the deadline only ever later (activity: a device with a shorter TTL must
# not cut a session another keeps for longer; '' in records written before, set as written).
# Returns false (no session), 1 (added) or 2 (already there).
# The script run most often, so it spells out PRELUDE's expire_at and notify rather than
# defining the three closures at every call (~2 µs of its ~21, `INFO commandstats`).
ADD_MESSAGE = SESSION_KEYS + """
local owner_pinned_title = redis.call('HMGET', meta, 'user_id', 'pinned', 'title')
if not owner_pinned_title[1] then return false end
if redis.call('ZADD', ids, 'NX', ARGV[8], ARGV[10]) == 0 then return 2 end
local max = tonumber(ARGV[6])
local pushed = redis.call('RPUSH', messages, ARGV[5])
local held = pushed
if pushed > max then
  redis.call('LTRIM', messages, -max, -1)
  redis.call('ZREMRANGEBYRANK', ids, 0, -max - 1)
  held = max
end
redis.call('HINCRBY', counts, 'messages', held - pushed + 1)
redis.call('HSET', sizes, sid, held)
if ARGV[9] ~= '' and not owner_pinned_title[3] then redis.call('HSET', meta, 'title', ARGV[9]) end
local deadline = ARGV[7]
if ARGV[11] == '1' then
  local current = redis.call('PEXPIRETIME', meta)
  if current == -1 then  -- never expires (pinned, or made with ttl 0): stays so
    deadline = false
  elseif deadline == '' then  -- this device's sessions never expire: the latest of all
    redis.call('PERSIST', meta)
    redis.call('PERSIST', messages)
    redis.call('PERSIST', ids)
    redis.call('ZADD', expiry, '+inf', sid)
  elseif current > tonumber(deadline) then
    deadline = current
  end
end
if deadline and deadline ~= '' and owner_pinned_title[2] ~= '1' then
  redis.call('PEXPIREAT', meta, deadline)
  redis.call('PEXPIREAT', messages, deadline)
  redis.call('PEXPIREAT', ids, deadline)
  redis.call('ZADD', expiry, deadline, sid)
end
redis.call('ZADD', listing, ARGV[8], sid)
redis.call('HINCRBY', counts, 'changes', 1)
if ARGV[2] ~= '' then redis.call(ARGV[1], ARGV[2], ARGV[3]) end
return 1
"""

# ARGV[5]: the new title.
RENAME = PRELUDE + """
if not redis.call('HGET', meta, 'user_id') then return false end
redis.call('HSET', meta, 'title', ARGV[5])
notify()
return 1
"""

# ARGV[5]: the model that wrote the latest answer. Unchanged: no event, no change counted.
MODEL = PRELUDE + """
local owner_model = redis.call('HMGET', meta, 'user_id', 'model')
if not owner_model[1] then return false end
if owner_model[2] == ARGV[5] then return 1 end
redis.call('HSET', meta, 'model', ARGV[5])
notify()
return 1
"""

# ARGV[5]: '1' pin, '0' unpin; ARGV[6]: the deadline ms an unpinned session gets ('' = never).
PIN = PRELUDE + """
if not redis.call('HGET', meta, 'user_id') then return false end
redis.call('HSET', meta, 'pinned', ARGV[5])
if ARGV[5] == '1' then expire_at('') else expire_at(ARGV[6]) end
notify()
return 1
"""

# ARGV[5]: the new deadline ms ('' = never). A pinned session never expires: nothing to extend.
# ARGV[6]: '1' = only ever later (an extend at the store's own TTL must not cut a session that
# a device with a longer TTL kept alive; one asked for with an explicit TTL sets it as asked).
EXTEND = PRELUDE + """
if not redis.call('HGET', meta, 'user_id') then return false end
if redis.call('HGET', meta, 'pinned') == '1' then return 1 end
if ARGV[6] == '1' then
  local current = redis.call('PEXPIRETIME', meta)
  if current == -1 then return 1 end
  if ARGV[5] ~= '' and current >= tonumber(ARGV[5]) then return 1 end
end
expire_at(ARGV[5])
notify()
return 1
"""

# Returns how many of the session's keys it deleted.
CLEAR = PRELUDE + """
local deleted = redis.call('DEL', meta, messages, ids)
forget_counts(sizes, counts, sid)
redis.call('ZREM', listing, sid)
redis.call('ZREM', expiry, sid)
if deleted > 0 then notify() end
return deleted
"""

# A whole session at once (journal compaction, the layout migration).
# ARGV[5..]: deadline ms ('' = never), last activity, '1' = only if it does not exist yet,
# number of meta values (field, value…), number of messages, then those, then (id, score)…
RESTORE = PRELUDE + """
if ARGV[7] == '1' and redis.call('EXISTS', meta) == 1 then return 0 end
forget_counts(sizes, counts, sid)
redis.call('DEL', meta, messages, ids)
local nmeta, nmsg = tonumber(ARGV[8]), tonumber(ARGV[9])
local i = 10
for j = i, i + nmeta - 1, 2 do redis.call('HSET', meta, ARGV[j], ARGV[j + 1]) end
i = i + nmeta
for j = i, i + nmsg - 1 do redis.call('RPUSH', messages, ARGV[j]) end
i = i + nmsg
for j = i, #ARGV - 1, 2 do redis.call('ZADD', ids, ARGV[j + 1], ARGV[j]) end
expire_at(ARGV[5])
redis.call('ZADD', listing, ARGV[6], sid)
redis.call('HSET', sizes, sid, nmsg)
redis.call('HINCRBY', counts, 'sessions', 1)
redis.call('HINCRBY', counts, 'messages', nmsg)
notify()
return 1
"""

# The sessions in ranks ARGV[4]..ARGV[5] of one user's listing whose id contains ARGV[3] (as
# typed) or whose title contains ARGV[2] (lower case; ASCII letters fold), read where they
# are. A slice (FIND_SLICE sessions) at a time: Redis serves nobody else while a script runs.
# KEYS: the user's listing. ARGV: meta key prefix, lowered needle, needle, start, stop.
FIND_IN_SLICE = """
local found = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[4], ARGV[5])) do
  if string.find(sid, ARGV[3], 1, true) then
    found[#found + 1] = sid
  else
    local title = redis.call('HGET', ARGV[1] .. sid, 'title')
    if title and string.find(string.lower(title), ARGV[2], 1, true) then found[#found + 1] = sid end
  end
end
return found
"""

# Forget sessions that are gone (expired) from one user's indexes and counters.
# KEYS: Keys.user_keys. ARGV: meta key prefix, now ms, budget, then the sids to check (none:
# those whose deadline has passed, at most `budget`). Returns the sids it forgot.
PRUNE = FORGET_COUNTS + """
local listing, expiry, sizes, counts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local sids = {}
if #ARGV > 3 then
  for i = 4, #ARGV do sids[#sids + 1] = ARGV[i] end
else
  sids = redis.call('ZRANGEBYSCORE', expiry, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
end
local gone = {}
for _, sid in ipairs(sids) do
  if redis.call('EXISTS', ARGV[1] .. sid) == 0 then
    forget_counts(sizes, counts, sid)
    redis.call('ZREM', listing, sid)
    redis.call('ZREM', expiry, sid)
    gone[#gone + 1] = sid
  end
end
return gone
"""

# Errors with which a reachable Redis refuses a write for reasons of its own state, not the
# session's data: the write is kept locally and tried again, rather than reported as corrupt.
REFUSALS = {
    "OOM": "Redis is out of memory",
    "READONLY": "Redis is read-only (a replica?)",
    "MISCONF": "Redis cannot save to disk (MISCONF)",
    "NOREPLICAS": "Redis has too few replicas to accept writes",
    "BUSY": "Redis is busy running a script",
    "LOADING": "Redis is loading its data",
    "MASTERDOWN": "Redis lost its master",
    "CLUSTERDOWN": "the Redis cluster is down",
    "TRYAGAIN": "Redis asked to try again",
}


def new_session_id() -> str:
    # 128 bits: unguessable, URL- and key-safe. Never a leading "-": the command line would
    # take `ragtui sessions show -x…` for an option (1 id in 64 could not be shown).
    sid = secrets.token_urlsafe(16)
    return "_" + sid[1:] if sid.startswith("-") else sid


def new_message_id(now: float) -> str:
    # time-ordered and unique across writers; replay uses it to never push a message twice
    return f"{int(now * 1000):011x}-{secrets.token_hex(4)}"


def refusal(exc: BaseException) -> str | None:
    """Why Redis refused a command for its own state (out of memory, read-only…), or None."""
    code = getattr(exc, "status_code", None) or str(exc).split(" ", 1)[0]  # redis-py strips known codes
    return REFUSALS.get(code.upper())


def _response_error(sid: str, exc: redis.ResponseError) -> StoreError:
    why = refusal(exc)
    return StoreUnavailable(why) if why else CorruptSession(f"session {sid}: {exc}")


def as_context(messages: list[Message]) -> str:
    """"Role: content" lines, each answer under its question (format_history_as_context)."""
    return "\n".join(f"{m.role.capitalize()}: {m.content}" for m in conversation_order(messages))


def title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


# Every client a store is handed decodes replies (decode_responses=True): the text it stored
# comes back as str. redis-py's types cannot know that (they say bytes | str, or a union of
# reply shapes), so the replies the store reads are given their real type here.
def _str(reply: Any) -> str | None:
    return cast("str | None", reply)


def _strs(reply: Any) -> list[str]:
    return cast("list[str]", reply)


def _optional_strs(reply: Any) -> list[str | None]:  # HMGET: None where a field is missing
    return cast("list[str | None]", reply)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _deadline_arg(deadline: float | None) -> str | int:
    return "" if deadline is None else _ms(deadline)


def _not_found(sid: str) -> SessionNotFound:
    return SessionNotFound(f"session {sid} does not exist or has expired")


class LatencyLog:
    """The last 1,000 durations of each operation, for p50/p99 in the stats pane."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=1000))

    @contextmanager
    def measure(self, op: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._samples[op].append((time.perf_counter() - start) * 1000)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for op, samples in list(self._samples.items()):
            ordered = sorted(samples)
            if ordered:
                out[op] = {
                    "p50": ordered[len(ordered) // 2],
                    "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
                    "n": len(ordered),
                }
        return out

    def recent(self, op: str) -> list[float]:
        return list(self._samples.get(op, ()))


class SessionStore:
    """Sessions of one user (`user`) or of everyone (`user=None`); keys: see keys.py."""

    fallback_reason: str | None = None  # sessions are where this store says they are

    def __init__(
        self,
        client: redis.Redis,
        *,
        backend: str,
        ttl: int | None = 3600,
        max_messages: int = 1000,
        namespace: str = "ragtui",
        location: str = "",
        journal=None,
        clock: Callable[[], float] = time.time,
        user: str | None = None,
    ) -> None:
        self.client = client
        self.backend = backend
        self.default_ttl = ttl or 0
        self.max_messages = max_messages
        self.namespace = namespace
        self.location = location
        self.journal = journal
        self.clock = clock
        self.user = None if user is None else str(user)
        self.keys = Keys(namespace)
        self.latency = LatencyLog()
        # called with a session's key after every acknowledged write (e.g. to WAIT for a replica)
        self.after_write: Callable[[str], None] | None = None
        self._owners: dict[str, str] = {}  # sid -> user_id, learnt from the admin listing
        self._repaired = -REPAIR_INTERVAL  # when (monotonic) the admin listing was last repaired
        self._found: tuple[str, float, list[str]] | None = None  # the last search: text, when, matches
        self._scripts = {name: client.register_script(text) for name, text in (
            ("create", CREATE), ("add", ADD_MESSAGE), ("rename", RENAME), ("model", MODEL), ("pin", PIN),
            ("extend", EXTEND), ("clear", CLEAR), ("restore", RESTORE), ("prune", PRUNE),
            ("find_in_slice", FIND_IN_SLICE))}
        if journal is not None:
            journal.attach(apply=self._apply, reset=self._reset_state, snapshot=self._snapshot_records)

    def scoped(self, user: str | None) -> "SessionStore":
        """This store (same connection, same journal) acting for `user` (None: everyone)."""
        twin = copy.copy(self)
        twin.user = None if user is None else str(user)
        return twin

    @property
    def sharded(self) -> bool:
        """Redis Cluster: events go out on sharded pub/sub (SPUBLISH / SSUBSCRIBE)."""
        # (or a cluster not reached yet: connection.PendingCluster)
        return isinstance(self.client, redis.cluster.RedisCluster) or getattr(self.client, "sharded", False) is True

    def event_client(self):
        """A client to subscribe to events with (`keys.events(user)`)."""
        return self.client

    # ------------------------------------------------------------ plumbing
    @property
    def health(self) -> str:
        return "ok"

    def describe(self) -> str:
        if self.backend == "redis":
            return f"Redis ✓ {self.location}"
        if self.backend == "local":
            return f"local — saved on this machine ({self.location})"
        return "memory — nothing is kept: this chat is lost on exit"

    def _deadline(self, now: float, ttl: int | None = None) -> float | None:
        seconds = self.default_ttl if ttl is None else ttl
        return now + seconds if seconds else None

    def _commit(self, record: dict[str, Any]) -> Any:
        """Apply one change; on the local backend, also make it durable before returning."""
        if self.journal is None:
            with self._permitted():
                try:
                    result = self._apply(record)
                except redis.ResponseError as exc:
                    if redis_errors.is_permission_denied(exc):
                        raise
                    raise _response_error(record["sid"], exc) from None
            if self.after_write is not None:
                self.after_write(self.keys.meta(record["user"], record["sid"]))
            return result
        with self.journal.transaction():
            result = self._apply(record)
            self.journal.append(record)
            return result

    @contextmanager
    def _permitted(self) -> Iterator[None]:
        """NOPERM (a Redis ACL keeps this user out of those keys) as one clear line."""
        try:
            yield
        except redis.ResponseError as exc:
            if not redis_errors.is_permission_denied(exc):
                raise
            raise AccessDenied(redis_errors.explain(exc, self.location)) from None

    @contextmanager
    def _reading(self, op: str) -> Iterator[None]:
        with self.latency.measure(op), self._permitted():
            if self.journal is not None:
                self.journal.catch_up()  # see what other processes wrote
            yield

    def _apply(self, record: dict[str, Any]) -> Any:
        return getattr(self, f"_apply_{record['op']}")(record)

    # --------------------------------------------------------------- owners
    def _owner(self, sid: str) -> str:
        """Whose keys hold `sid` in this store's scope; SessionNotFound when nobody's."""
        if self.user is not None:
            return self.user
        owner = self._owners.get(sid)
        if owner is None:
            try:
                with self._permitted():
                    owner = _str(self.client.hget(self.keys.owners, sid))
                if owner is None and self.journal is not None:
                    self.journal.catch_up()  # another process may have made it
                    owner = _str(self.client.hget(self.keys.owners, sid))
            except redis.ResponseError as exc:
                raise _response_error(sid, exc) from None
            if owner is None:
                raise _not_found(sid)
            self._owners[sid] = owner
        return owner

    def _recorded_owner(self, r: dict[str, Any]) -> str:
        """The owner a record names; records written before layout v2 name none."""
        return r.get("user") or self.scoped(None)._owner(r["sid"])

    def known_owner(self, session_id: str) -> str | None:
        """The session's owner if this process learnt it without asking Redis now (e.g.
        during an outage): it made the session or read its owner. Never guessed from the
        user this store acts for: an id it never saw may be another user's."""
        return self._owners.get(session_id)

    def owner_of(self, session_id: str) -> str | None:
        """The user whose session `session_id` is, if it exists and this store may see it."""
        try:
            owner = self._owner(session_id)
            exists = self.client.exists(self.keys.meta(owner, session_id))
        except SessionNotFound:
            return None
        return owner if exists else None

    def _acting_for(self, user_id: str | None) -> str | None:
        """The user a call asks about (None: everyone this store may see)."""
        if user_id is None:
            return self.user
        if self.user is not None and str(user_id) != self.user:
            raise StoreError(f"acting for user {self.user}: another user's sessions need admin mode (--admin)")
        return str(user_id)

    # ------------------------------------------------------------- scripts
    def _run(self, name: str, owner: str, sid: str, kind: str, *args, extra: dict | None = None) -> Any:
        """One session script, publishing `kind` on the owner's channel."""
        event = _to_json({"user": owner, "sid": sid, "kind": kind, **(extra or {})})
        publish = "SPUBLISH" if self.sharded else "PUBLISH"
        try:
            return self._scripts[name](keys=self.keys.session_keys(owner, sid),
                                       args=[publish, self.keys.events(owner), event, sid, *args])
        except redis.ResponseError as exc:
            if redis_errors.is_permission_denied(exc):
                raise
            raise _response_error(sid, exc) from None

    def _index(self, owner: str, sid: str, created_at: float) -> None:
        """Put a session in the admin listing (apart from the user's keys: another slot)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(self.keys.all_sessions, {sid: created_at}, nx=True)  # a repeated create keeps the first time
        pipe.hset(self.keys.owners, sid, owner)
        pipe.zadd(self.keys.users, {owner: created_at}, nx=True)
        pipe.execute()
        self._owners[sid] = owner

    def _unindex(self, sids: list[str]) -> None:
        """Take sessions that are gone out of the admin listing."""
        if not sids:
            return
        for sid in sids:
            self._owners.pop(sid, None)
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(self.keys.all_sessions, *sids)
        pipe.hdel(self.keys.owners, *sids)
        try:
            pipe.execute()
        except redis.ResponseError as exc:  # NOPERM for a user's store: an admin's read repairs it
            log.debug("left %d gone session(s) in the admin listing: %s", len(sids), exc)

    # ------------------------------------------------------------- records
    def _claim(self, owner: str, sid: str) -> None:
        """Take `sid` for `owner` in the admin owners hash before its keys are written, so
        no user can make a session under an id another user's session holds (HSETNX: of two
        creates racing for one id, one wins). The same owner making it again is fine."""
        if self.client.hsetnx(self.keys.owners, sid, owner):
            self._owners[sid] = owner  # a retry after the create itself failed is still ours
            return
        try:
            holder = self.client.hget(self.keys.owners, sid)
        except redis.ResponseError as exc:  # a user's ACL writes the admin listing, never reads it
            if not redis_errors.is_permission_denied(exc):
                raise
            mine = self._owners.get(sid) == owner or self.client.exists(self.keys.meta(owner, sid))
            holder = owner if mine else None
        if holder != owner:
            raise StoreError(f"session id {sid} is taken by another user's session: not created")

    def _apply_create(self, r: dict[str, Any]) -> str:
        sid, owner, now = r["sid"], r["user"], r["at"]
        self._claim(owner, sid)
        self._run("create", owner, sid, "create", now, _deadline_arg(r["deadline"]), r.get("title") or "", owner,
                  r.get("model") or "")  # records written before the model was kept name none
        self._index(owner, sid, now)
        return sid

    def _apply_add(self, r: dict[str, Any]) -> Message:
        sid, msg, owner = r["sid"], r["msg"], self._recorded_owner(r)
        title = title_from(msg["content"]) if msg["role"] == "user" else ""
        added = self._run("add", owner, sid, "add", _to_json(msg), self.max_messages,
                          _deadline_arg(r["deadline"]), msg["timestamp"], title, msg["id"],
                          "1" if r.get("later_only") else "", extra={"id": msg["id"]})
        if not added:
            raise _not_found(sid)
        return _message_from(msg)

    def _apply_rename(self, r: dict[str, Any]) -> None:
        if not self._run("rename", self._recorded_owner(r), r["sid"], "rename", r["title"]):
            raise _not_found(r["sid"])

    def _apply_model(self, r: dict[str, Any]) -> None:
        if not self._run("model", self._recorded_owner(r), r["sid"], "model", r["model"]):
            raise _not_found(r["sid"])

    def _apply_pin(self, r: dict[str, Any]) -> None:
        pinned = r["pinned"]
        if not self._run("pin", self._recorded_owner(r), r["sid"], "pin" if pinned else "unpin",
                         "1" if pinned else "0", _deadline_arg(r["deadline"])):
            raise _not_found(r["sid"])

    def _apply_extend(self, r: dict[str, Any]) -> None:
        if not self._run("extend", self._recorded_owner(r), r["sid"], "extend", _deadline_arg(r["deadline"]),
                         "1" if r.get("later_only") else ""):
            raise _not_found(r["sid"])

    def _apply_clear(self, r: dict[str, Any]) -> bool:
        sid = r["sid"]
        try:
            owner = self._recorded_owner(r)
        except SessionNotFound:
            return False
        deleted = self._run("clear", owner, sid, "clear")
        if deleted:  # (a same-named session of another user stays listed)
            self._unindex([sid])
        return deleted > 0

    def _apply_defer(self, r: dict[str, Any]) -> None:
        sid = r["sid"]
        self._apply(r["change"])
        owner = self._recorded_owner(r)
        meta = self.keys.meta(owner, sid)
        last = self.client.lindex(self.keys.messages(owner, sid), -1)
        queued = json.loads(self.client.hget(meta, "queued") or "[]")
        queued.append({"call": r["call"], "args": r["args"], "after": json.loads(last)["id"] if last else None})
        self.client.hset(meta, "queued", _to_json(queued))

    def _apply_settle(self, r: dict[str, Any]) -> bool:
        sid = r["sid"]
        owner = self._recorded_owner(r)
        meta, messages = self.keys.meta(owner, sid), self.keys.messages(owner, sid)
        queued = json.loads(self.client.hget(meta, "queued") or "[]")[r["changes"]:]
        self.client.ltrim(messages, r["messages"], -1)
        left = self.client.llen(messages)
        if queued or left:
            self.client.hset(meta, "queued", _to_json(queued))
            held = int(self.client.hget(self.keys.sizes(owner), sid) or left)
            self.client.hset(self.keys.sizes(owner), sid, left)
            self.client.hincrby(self.keys.counts(owner), "messages", left - held)
            return False
        return self._apply_clear({"op": "clear", "sid": sid, "user": owner})

    def _apply_restore(self, r: dict[str, Any]) -> None:
        """A whole session at once: what journal compaction writes."""
        if r["deadline"] is not None and r["deadline"] <= self.clock():
            return
        self._restore(r["sid"], r["meta"], r["messages"], r["deadline"], r["last_activity"], only_if_absent=False)

    def _restore(self, sid: str, meta: dict[str, str], messages: list[str], deadline: float | None,
                 last_activity: float, *, only_if_absent: bool) -> bool:
        owner = meta["user_id"]
        ids: list[Any] = []
        for raw in messages:
            try:
                data = json.loads(raw)
                ids += [str(data["id"]), float(data["timestamp"])]
            except (ValueError, TypeError, KeyError):
                continue  # a garbled message: reading the history reports it
        fields = [x for pair in meta.items() for x in pair]
        done = self._run("restore", owner, sid, "create", _deadline_arg(deadline), last_activity,
                         "1" if only_if_absent else "", len(fields), len(messages), *fields, *messages, *ids)
        self._index(owner, sid, float(meta["created_at"]))
        return bool(done)

    def _reset_state(self) -> None:
        self.client.flushdb()
        self._owners.clear()

    def _snapshot_records(self) -> Iterator[dict[str, Any]]:
        """Every live session as one `restore` record: the compacted journal."""
        now = self.clock()
        owners = cast("dict[str, str]", self.client.hgetall(self.keys.owners))  # (decoded: see _str)
        for sid in _strs(self.client.zrange(self.keys.all_sessions, 0, -1)):
            owner = owners.get(sid)
            if owner is None:
                continue
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(self.keys.meta(owner, sid))
            pipe.lrange(self.keys.messages(owner, sid), 0, -1)
            pipe.pttl(self.keys.meta(owner, sid))
            meta, messages, pttl = pipe.execute()
            if meta and "user_id" in meta:
                deadline = None if pttl < 0 else now + pttl / 1000
                activity = _last_activity(meta, messages[-1] if messages else None)
                yield {"op": "restore", "sid": sid, "meta": meta, "messages": messages,
                       "deadline": deadline, "last_activity": activity}

    # --------------------------------------------------------------- writes
    def create_session(self, user_id: str, title: str | None = None, *, session_id: str | None = None,
                       model: str = "") -> str:
        with self.latency.measure("create_session"):
            now = self.clock()
            record = {
                "op": "create",
                "sid": session_id or new_session_id(),
                "user": self._acting_for(user_id),
                "title": title_from(title) if title else None,
                "at": now,
                "deadline": self._deadline(now),
                "model": str(model),
            }
            return self._commit(record)

    def add_message(
        self,
        session_id: str,
        role: str,
        content: str,
        sources: Iterable[dict[str, Any]] = (),
        *,
        message_id: str | None = None,
        timestamp: float | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """Store a message; `reply_to`: an answer's question (its id). Activity restarts the
        session's countdown at this store's TTL, never earlier than its deadline now."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        with self.latency.measure("add_message"):
            now = self.clock() if timestamp is None else timestamp
            msg = {
                "id": message_id or new_message_id(now),
                "role": role,
                "content": str(content),
                "timestamp": now,
                "sources": [dict(s) for s in sources],
            }
            if reply_to is not None:
                msg["reply_to"] = str(reply_to)
            record = {
                "op": "add",
                "sid": session_id,
                "user": self._owner(session_id),
                "msg": msg,
                "deadline": self._deadline(self.clock()),
                "later_only": True,
            }
            return self._commit(record)

    def _change(self, call: str, sid: str, *args) -> dict[str, Any]:
        """The record of a change to a session's settings (rename, model, pin, unpin, extend)."""
        record: dict[str, Any]
        if call == "rename_session":
            record = {"op": "rename", "sid": sid, "title": title_from(args[0]) or "untitled"}
        elif call == "set_session_model":
            record = {"op": "model", "sid": sid, "model": str(args[0])}
        elif call == "pin_session":
            record = {"op": "pin", "sid": sid, "pinned": True, "deadline": None}
        elif call == "unpin_session":
            record = {"op": "pin", "sid": sid, "pinned": False, "deadline": self._deadline(self.clock())}
        elif call == "extend_session":
            record = {"op": "extend", "sid": sid, "deadline": self._deadline(self.clock(), *args)}
            if not args or args[0] is None:
                record["later_only"] = True
        else:
            raise ValueError(f"not a change to a session: {call!r}")
        return {**record, "user": self._owner(sid)}

    def rename_session(self, session_id: str, title: str) -> None:
        with self.latency.measure("rename_session"):
            self._commit(self._change("rename_session", session_id, title))

    def set_session_model(self, session_id: str, model: str) -> None:
        """Record the model that wrote the session's latest answer. Unchanged (the usual case:
        every answer calls this) it is one read: nothing written, journaled or announced."""
        with self._reading("set_session_model"):
            unchanged = self.client.hget(self.keys.meta(self._owner(session_id), session_id), "model") == model
        if not unchanged:
            self._commit(self._change("set_session_model", session_id, model))

    def pin_session(self, session_id: str) -> None:
        with self.latency.measure("pin_session"):
            self._commit(self._change("pin_session", session_id))

    def unpin_session(self, session_id: str) -> None:
        with self.latency.measure("pin_session"):
            self._commit(self._change("unpin_session", session_id))

    def extend_session(self, session_id: str, ttl: int | None = None) -> int | None:
        """Restart the idle countdown at `ttl` seconds; seconds left. Without `ttl`, at the
        store's TTL but never earlier than the session's deadline now (devices may differ)."""
        with self.latency.measure("extend_session"):
            self._commit(self._change("extend_session", session_id, ttl))
        return self.ttl(session_id)

    # -------------------------------------------- the failover store's outbox
    def defer(self, session_id: str, call: str, *args) -> None:
        """Make a change here and queue `call(session_id, *args)`, after the messages held
        now, to be made again on Redis (see `queued_changes`)."""
        change = self._change(call, session_id, *args)
        self._commit({"op": "defer", "sid": session_id, "user": change["user"], "call": call,
                      "args": list(args), "change": change})

    def queued_changes(self, session_id: str) -> list[dict[str, Any]]:
        """Deferred changes, oldest first: {call, args, after: id of the message before it}."""
        with self._reading("queued_changes"):
            meta = self.keys.meta(self._owner(session_id), session_id)
            return json.loads(self.client.hget(meta, "queued") or "[]")

    def settle(self, session_id: str, messages: int, changes: int) -> bool:
        """Forget the first `messages` messages and `changes` changes (now on Redis); the
        session goes once nothing is left. True when it went."""
        return self._commit({"op": "settle", "sid": session_id, "user": self._owner(session_id),
                             "messages": messages, "changes": changes})

    def clear_session(self, session_id: str) -> bool:
        with self.latency.measure("clear_session"):
            try:
                owner = self._owner(session_id)
            except SessionNotFound:
                return False
            return self._commit({"op": "clear", "sid": session_id, "user": owner})

    # ---------------------------------------------------------------- reads
    def get_session(self, session_id: str) -> Session | None:
        with self._reading("get_session"):
            try:
                owner = self._owner(session_id)
            except SessionNotFound:
                return None
            pipe = self.client.pipeline(transaction=False)
            self._queue_session_reads(pipe, owner, session_id)
            try:
                fields = pipe.execute()
            except redis.ResponseError as exc:
                if redis_errors.is_permission_denied(exc):
                    raise
                raise CorruptSession(f"session {session_id}: {exc}") from None
            if not fields[0]:
                return None
            return self._session_from(session_id, *fields)

    def _queue_session_reads(self, pipe, owner: str, sid: str) -> None:
        """What `_session_from` needs, queued on a pipeline (4 replies)."""
        pipe.hgetall(self.keys.meta(owner, sid))
        pipe.llen(self.keys.messages(owner, sid))
        pipe.pttl(self.keys.meta(owner, sid))
        pipe.lindex(self.keys.messages(owner, sid), -1)

    def _session_from(self, sid: str, meta: dict[str, str], count: int, pttl: int, last: str | None) -> Session:
        try:
            return Session(
                id=sid,
                user_id=meta["user_id"],
                title=meta.get("title", ""),
                created_at=float(meta["created_at"]),
                last_activity=_last_activity(meta, last),
                message_count=int(count),
                ttl=None if pttl < 0 else math.ceil(pttl / 1000),
                pinned=meta.get("pinned") == "1",
                model=meta.get("model", ""),
            )
        except (KeyError, ValueError) as exc:
            raise CorruptSession(f"session {sid}: metadata ragtui did not write ({exc!r})") from None

    def ttl(self, session_id: str) -> int | None:
        """Seconds until the session expires; None when it never does."""
        with self._reading("ttl"):
            pttl = self.client.pttl(self.keys.meta(self._owner(session_id), session_id))
        if pttl == -2:
            raise _not_found(session_id)
        return None if pttl == -1 else math.ceil(pttl / 1000)

    def get_messages(self, session_id: str, start: int = 0, end: int = -1) -> list[Message]:
        with self._reading("get_messages"):
            try:
                key = self.keys.messages(self._owner(session_id), session_id)
            except SessionNotFound:
                return []
            try:
                raw = _strs(self.client.lrange(key, start, end))
            except redis.ResponseError as exc:
                if redis_errors.is_permission_denied(exc):
                    raise
                raise CorruptSession(f"session {session_id}: {exc}") from None
            return [_parse_message(session_id, item) for item in raw]

    def get_conversation_history(self, session_id: str) -> list[Message]:
        return self.get_messages(session_id, 0, -1)

    def get_last_n_messages(self, session_id: str, n: int) -> list[Message]:
        return self.get_messages(session_id, -n, -1) if n > 0 else []

    def format_history_as_context(self, session_id: str, n: int = 10) -> str:
        return as_context(self.get_last_n_messages(session_id, n))

    # ------------------------------------------------------------- listings
    def _page(self, user: str | None, offset: int, limit: int) -> tuple[list[Session], int]:
        """(sessions, the position after them) from a listing, newest first: one user's by
        last activity, or everyone's (user None) by creation. Dead entries are pruned."""
        index = self.keys.all_sessions if user is None else self.keys.sessions(user)
        found: list[Session] = []
        position = offset
        while len(found) < limit:
            sids = _strs(self.client.zrevrange(index, position, position + max(limit - len(found), 1) - 1))
            if not sids:
                break
            owners: dict[str, str | None]
            if user is None:
                owners = dict(zip(sids, _optional_strs(self.client.hmget(self.keys.owners, sids))))
            else:
                owners = dict.fromkeys(sids, user)
            live = [(sid, owner) for sid, owner in owners.items() if owner is not None]
            dead: dict[str, str | None] = {sid: None for sid, owner in owners.items() if owner is None}
            if user is None:
                self._owners.update(live)
            pipe = self.client.pipeline(transaction=False)
            for sid, owner in live:
                self._queue_session_reads(pipe, owner, sid)
            results = pipe.execute(raise_on_error=False) if live else []
            for i, (sid, owner) in enumerate(live):
                fields = results[4 * i: 4 * i + 4]
                if any(isinstance(x, Exception) for x in fields):
                    log.warning("skipping session %s: its keys hold foreign data", sid)
                    position += 1
                    continue
                if not fields[0]:
                    dead[sid] = owner
                    continue
                try:
                    found.append(self._session_from(sid, *fields))
                except CorruptSession as exc:
                    log.warning("skipping %s", exc)
                position += 1
            if dead:  # expired: drop them from the indexes so no listing shows them again
                self._forget(dead)
        return found, position

    def _forget(self, dead: dict[str, str | None]) -> None:
        """Prune gone sessions ({sid: owner, or None if the admin listing names none})."""
        by_owner: dict[str, list[str]] = defaultdict(list)
        for sid, owner in dead.items():
            if owner is not None:
                by_owner[owner].append(sid)
        pruned = [sid for sid, owner in dead.items() if owner is None]
        for owner, sids in by_owner.items():
            pruned += self._prune(owner, sids)
        self._unindex(pruned)

    def _prune(self, user: str, sids: Iterable[str] = (), client=None) -> list[str]:
        return self._scripts["prune"](keys=self.keys.user_keys(user),
                                      args=[self.keys.meta(user, ""), _ms(self.clock()), PRUNE_BUDGET, *sids],
                                      client=client)

    def get_all_active_sessions(self, user_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Session]:
        """One user's sessions, most recent activity first; or everyone's (user_id None, in
        admin mode), newest first."""
        with self._reading("list_sessions"):
            return self._page(self._acting_for(user_id), offset, limit)[0]

    def iter_search_sessions(self, user_id: str, text: str, page: int = LISTING_BATCH) -> Iterator[list[Session]]:
        """This user's sessions whose title or any message contains `text` (case-insensitive),
        newest first: one list of matches (maybe empty) per `page` sessions looked at, so a
        caller shows the first ones at once and stops whenever it likes."""
        user = self._acting_for(user_id)
        if user is None:
            raise StoreError("search needs a user")
        needle = text.casefold().strip()
        position = 0
        while True:
            with self._reading("search_sessions"):
                batch, position = self._page(user, position, page)
                if not batch:
                    return
                untitled = [s for s in batch if needle not in s.title.casefold()]
                pipe = self.client.pipeline(transaction=False)
                for s in untitled:
                    pipe.lrange(self.keys.messages(user, s.id), 0, -1)
                contents = dict(zip((s.id for s in untitled), pipe.execute(raise_on_error=False)))
            yield [s for s in batch if (raw := contents.get(s.id)) is None
                   or (not isinstance(raw, Exception) and _any_message_contains(s.id, raw, needle))]

    def search_sessions(self, user_id: str, text: str, limit: int = 50) -> list[Session]:
        """This user's sessions whose title or any message contains `text` (case-insensitive)."""
        matches: list[Session] = []
        for found in self.iter_search_sessions(user_id, text):
            matches += found
            if len(matches) >= limit:
                break
        return matches[:limit]

    def find_sessions(self, text: str, limit: int = 50, offset: int = 0) -> list[Session]:
        """Admin: everyone's sessions whose user, id or title contains `text`, newest first.
        The matches of a search serve the page turns and refreshes of the next FIND_FRESH
        seconds (a session made or renamed meanwhile shows up after that; one gone is left
        out at once)."""
        if self.user is not None:
            return self.search_sessions(self.user, text, offset + limit)[offset:]
        needle = text.strip()
        with self._reading("find_sessions"):
            search = self._found
            if search is None or search[0] != needle or time.monotonic() - search[1] >= FIND_FRESH:
                search = self._found = (needle, time.monotonic(), self._search_everyone(needle))
            page = search[2][offset: offset + limit]
            owners = _optional_strs(self.client.hmget(self.keys.owners, page)) if page else []
            pipe = self.client.pipeline(transaction=False)
            pairs = [(sid, owner) for sid, owner in zip(page, owners) if owner is not None]
            for sid, owner in pairs:
                self._queue_session_reads(pipe, owner, sid)
            results = pipe.execute(raise_on_error=False) if pairs else []
            found = []
            for i, (sid, _) in enumerate(pairs):
                fields = results[4 * i: 4 * i + 4]
                if fields[0] and not any(isinstance(x, Exception) for x in fields):
                    found.append(self._session_from(sid, *fields))
            return found

    def _search_everyone(self, needle: str) -> list[str]:
        """Every session whose user, id or title contains `needle`, newest first. Matched
        where the data is, each user's listing in slices of FIND_SLICE sessions, so no
        command keeps Redis from other clients for more than a few milliseconds."""
        users = self._users(None)
        pipe = self.client.pipeline(transaction=False)
        for user in users:
            pipe.zcard(self.keys.sessions(user))
        sizes = pipe.execute() if users else []
        slices = [(user, start, min(FIND_SLICE, size - start))  # (whose, first rank, how many)
                  for user, size in zip(users, sizes) for start in range(0, size, FIND_SLICE)]
        # (ranks shift as sessions come and go: one met twice is kept once, one moved past is
        # found by the next search)
        matched: dict[str, None] = {}
        for group in _slice_groups(slices):
            if self.sharded:  # a cluster pipeline runs no scripts: one call each
                replies = [self._find_in_slice(self.client, needle, user, start) for user, start, _ in group]
            else:  # small listings together: one round trip, about one slice of work
                pipe = self.client.pipeline(transaction=False)
                for user, start, _ in group:
                    self._find_in_slice(pipe, needle, user, start)
                replies = pipe.execute()
            for reply in replies:
                matched.update(dict.fromkeys(_strs(reply)))
        sids = list(matched)
        created: list[float | None] = []
        for i in range(0, len(sids), 10 * FIND_SLICE):  # ~1 ms of Redis each
            created += self.client.zmscore(self.keys.all_sessions, sids[i: i + 10 * FIND_SLICE])
        return [sid for _, sid in sorted(((c, sid) for c, sid in zip(created, sids) if c is not None), reverse=True)]

    def _find_in_slice(self, client: Any, needle: str, user: str, start: int) -> Any:
        """The sessions in one slice of `user`'s listing that match (all of them when the user's
        name does): the reply, or queued on a pipeline."""
        listing, stop = self.keys.sessions(user), start + FIND_SLICE - 1
        if needle.casefold() in user.casefold():
            return client.zrange(listing, start, stop)
        return self._scripts["find_in_slice"](keys=[listing], client=client,
                                              args=[self.keys.meta(user, ""), needle.lower(), needle, start, stop])

    # ----------------------------------------------------- counters, stats
    def _users(self, user: str | None) -> list[str]:
        return [user] if user is not None else _strs(self.client.zrange(self.keys.users, 0, -1))

    def _totals(self, user: str | None) -> dict[str, tuple[int, int]]:
        """{user: (sessions, messages)} from the counters, after a small prune step each."""
        users = self._users(user)
        if self.sharded:  # a cluster pipeline runs no scripts: one prune per user, then the counts
            pruned = [self._prune(u) for u in users]
        pipe = self.client.pipeline(transaction=False)
        for u in users:
            if not self.sharded:
                self._prune(u, client=pipe)
            pipe.hmget(self.keys.counts(u), ["sessions", "messages"])
        replies = pipe.execute() if users else []
        if not self.sharded:
            pruned, replies = replies[::2], replies[1::2]
        self._unindex([sid for gone in pruned for sid in gone])
        return {u: (int(s or 0), int(m or 0)) for u, (s, m) in zip(users, replies)}

    def count_sessions(self, user_id: str | None = None) -> int:
        """Live sessions of one user, or of everyone this store may see: from counters."""
        with self._reading("count_sessions"):
            return sum(s for s, _ in self._totals(self._acting_for(user_id)).values())

    def user_version(self, user_id: str) -> int:
        """A number that grows with every change to the user's sessions (one command)."""
        return int(self.client.hget(self.keys.counts(str(self._acting_for(user_id))), "changes") or 0)

    def get_session_stats(self) -> StoreStats:
        with self._reading("stats"):
            totals = self._totals(self.user)
            sessions = sum(s for s, _ in totals.values())
            if self.user is None and sessions != self.client.zcard(self.keys.all_sessions):
                self._repair_admin_listing(list(totals))
            server = self._server_info()
        return StoreStats(
            backend=self.backend,
            health=self.health,
            sessions=sessions,
            messages=sum(m for _, m in totals.values()),
            users=sum(1 for s, _ in totals.values() if s > 0),
            memory_bytes=server.pop("used_memory", None),
            latency_ms=self.latency.summary(),
            server=server,
            location=self.location,
        )

    def _repair_admin_listing(self, users: list[str]) -> None:
        """Put back the sessions users' listings hold and the admin listing lacks (the write
        that lists a new session failed after the session was made). A walk over the users'
        listings, so at most once a minute, and only when the counts disagree."""
        if time.monotonic() - self._repaired < REPAIR_INTERVAL:
            return
        self._repaired = time.monotonic()
        for user in users:
            sids = _strs(self.client.zrange(self.keys.sessions(user), 0, -1))
            listed = self.client.zmscore(self.keys.all_sessions, sids) if sids else []
            missing = [sid for sid, score in zip(sids, listed) if score is None]
            if not missing:
                continue
            pipe = self.client.pipeline(transaction=False)
            for sid in missing:
                pipe.hget(self.keys.meta(user, sid), "created_at")
            for sid, created in zip(missing, pipe.execute()):
                if created is not None:
                    self._index(user, sid, float(created))
                    log.warning("put session %s of %s back in the admin listing", sid, user)

    def _server_info(self) -> dict[str, Any]:
        try:
            if self.sharded:  # every master's: memory and clients are the cluster's sums
                nodes = list(self.client.info(target_nodes=redis.cluster.RedisCluster.PRIMARIES).values())
                info = {**nodes[0], "masters": len(nodes),
                        **{k: sum(n.get(k, 0) for n in nodes) for k in ("used_memory", "connected_clients")}}
                keep: tuple[str, ...] = ("redis_version", "masters", "used_memory", "maxmemory_policy",
                                         "connected_clients", "aof_enabled")
            else:
                info = self.client.info()
                keep = ("redis_version", "used_memory", "used_memory_human", "used_memory_peak_human",
                        "maxmemory_human", "maxmemory_policy", "connected_clients", "uptime_in_seconds",
                        "aof_enabled")
        except redis.ResponseError:
            return {}
        return {k: info[k] for k in keep if k in info}

    # ------------------------------------------------------- layout version
    def ensure_layout(self) -> int:
        """Migrate sessions kept in layout v1 (once, on the first start of this version);
        how many were moved. A Redis user without the rights leaves it to an admin."""
        try:
            if self.client.get(self.keys.layout) == str(LAYOUT_VERSION):
                return 0
            return self.migrate_layout()
        except (redis.exceptions.NoPermissionError, AccessDenied) as exc:  # a confined user: not theirs to do
            log.info("cannot check the session key layout as this Redis user (%s); "
                        "an admin runs `ragtui sessions migrate`", exc)
            return 0

    def migrate_layout(self) -> int:
        """Move every layout-v1 session into layout v2 with its messages, title, pin and the
        time it has left; how many moved. Safe to run twice, or in two processes at once:
        a session is written only where it is not yet, then its old keys go."""
        old = LegacyKeys(self.namespace)
        moved = 0
        with self._permitted():
            while sids := _strs(self.client.zrange(old.all_sessions, 0, 499)):
                for sid in sids:
                    moved += self._migrate_one(old, sid)
            self.client.set(self.keys.layout, LAYOUT_VERSION)
        if moved:
            log.warning("moved %d session(s) to the session key layout v%d", moved, LAYOUT_VERSION)
        return moved

    def _migrate_one(self, old: LegacyKeys, sid: str) -> int:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(old.meta(sid))
        pipe.lrange(old.messages(sid), 0, -1)
        pipe.pttl(old.meta(sid))
        meta, messages, pttl = pipe.execute()
        moved = 0
        if meta and "user_id" in meta and pttl != -2:
            now = self.clock()
            deadline = None if pttl < 0 else now + pttl / 1000
            activity = _last_activity(meta, messages[-1] if messages else None)
            moved = int(self._restore(sid, meta, messages, deadline, activity, only_if_absent=True))
            self.client.zrem(old.user_index(meta["user_id"]), sid)
        self.client.delete(old.meta(sid), old.messages(sid), old.ids(sid))
        self.client.zrem(old.all_sessions, sid)
        return moved

    def ping(self) -> bool:
        return bool(self.client.ping())

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        self.client.close()


def _slice_groups(slices: list[tuple[str, int, int]]) -> Iterator[list[tuple[str, int, int]]]:
    """Consecutive slices of listings (user, start, sessions), grouped so that each group
    looks at no more than FIND_SLICE sessions: a slice of a big listing alone, many small
    listings together."""
    group: list[tuple[str, int, int]] = []
    budget = FIND_SLICE
    for piece in slices:
        if group and piece[2] > budget:
            yield group
            group, budget = [], FIND_SLICE
        group.append(piece)
        budget -= piece[2]
    if group:
        yield group


def _message_from(data: dict[str, Any]) -> Message:
    return Message(
        id=str(data["id"]),
        role=str(data["role"]),
        content=str(data["content"]),
        timestamp=float(data["timestamp"]),
        sources=tuple(data.get("sources") or ()),
        reply_to=None if data.get("reply_to") is None else str(data["reply_to"]),
    )


def _last_activity(meta: dict[str, str], last_message: str | None) -> float:
    """The newest message's time, or the creation time of a session without messages."""
    if last_message:
        try:
            return float(json.loads(last_message)["timestamp"])
        except (ValueError, TypeError, KeyError):
            pass  # a garbled message: reading the history reports it
    return float(meta["created_at"])


def _parse_message(sid: str, raw: str) -> Message:
    try:
        return _message_from(json.loads(raw))
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptSession(f"session {sid}: a message is not ragtui's JSON ({exc!r})") from None


def _any_message_contains(sid: str, raw_messages: list[str], needle: str) -> bool:
    for raw in raw_messages:
        if needle in raw.casefold():  # cheap filter on the JSON text, then check the content itself
            try:
                if needle in _parse_message(sid, raw).content.casefold():
                    return True
            except CorruptSession:
                continue
    return False
