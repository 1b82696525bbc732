"""The session store as ragtui released it before layout v2 (commit 93f504b), vendored so the
migration test fills Redis through the code paths users ran. Not to be changed.

SessionStore: sessions and their messages over any redis-py-compatible client.

Every change is a *record* (a small dict with absolute times) applied by `_apply_<op>`.
Redis runs records directly; the local backend also appends them to a journal, and
replays the journal on start — the same code path, so the two cannot drift apart.

Key layout (hash tags keep one session's keys in one Redis Cluster slot):

    {ns}:session:{<sid>}            HASH  user_id, title, created_at, pinned, model
    {ns}:session:{<sid>}:messages   LIST  JSON messages, oldest first, trimmed to max_messages
    {ns}:session:{<sid>}:ids        ZSET  message id -> timestamp, the newest max_messages: a
                                          message replayed under the id it already has is skipped
    {ns}:user:{<uid>}:sessions      ZSET  sid -> last activity (Unix s): one user's listing
    {ns}:sessions                   ZSET  sid -> creation time (Unix s): the admin listing

The hash, the list and the ids carry the TTL; the sorted sets are indexes, pruned when a read meets
a session whose hash is gone. Last activity is the newest message's time (or creation):
derived, so a message costs only the commands that must change.
"""
from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import redis

from ragtui.sessions.models import CorruptSession, Message, Session, SessionNotFound, StoreError, StoreStats, StoreUnavailable

log = logging.getLogger(__name__)

TITLE_LENGTH = 60
ROLES = ("user", "assistant", "system")
LISTING_BATCH = 100

# One message, atomically and in one round trip. A script rather than MULTI because it can
# look before it writes: nothing is written to a session that expired, and a session
# pinned by another device keeps no TTL — MULTI can't branch, so each of those needed a
# second round trip. It skips a message whose id the session already holds: a call that
# timed out may still have landed, and its retry (or replay) carries the same id.
# KEYS: meta hash, messages list, the owner's listing index, the session's recent ids.
# ARGV: message JSON, max messages, deadline ms ("" = never), time s, sid, title ("" = none),
# message id. Returns false (no session), 1 (added) or 2 (already there).
ADD_MESSAGE = """
if not redis.call('HGET', KEYS[1], 'user_id') then return false end
if redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[7]) == 0 then return 2 end
if redis.call('RPUSH', KEYS[2], ARGV[1]) > tonumber(ARGV[2]) then
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(ARGV[2]) - 1)
end
if ARGV[6] ~= '' then redis.call('HSETNX', KEYS[1], 'title', ARGV[6]) end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'pinned') ~= '1' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  redis.call('PEXPIREAT', KEYS[2], ARGV[3])
  redis.call('PEXPIREAT', KEYS[4], ARGV[3])
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1
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


def title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


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
    """Sessions of many users; see the module docstring for the keys it writes."""

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
    ) -> None:
        self.client = client
        self.backend = backend
        self.default_ttl = ttl or 0
        self.max_messages = max_messages
        self.namespace = namespace
        self.location = location
        self.journal = journal
        self.clock = clock
        self.latency = LatencyLog()
        self._owners: dict[str, str] = {}  # sid -> user_id: add_message names the owner's index
        self._all = f"{namespace}:sessions"
        self._add_script = client.register_script(ADD_MESSAGE)
        if journal is not None:
            journal.attach(apply=self._apply, reset=self._reset_state, snapshot=self._snapshot_records)

    # ----------------------------------------------------------------- keys
    def _meta(self, sid: str) -> str:
        return f"{self.namespace}:session:{{{sid}}}"

    def _messages(self, sid: str) -> str:
        return f"{self.namespace}:session:{{{sid}}}:messages"

    def _ids(self, sid: str) -> str:
        return f"{self.namespace}:session:{{{sid}}}:ids"

    def _user_index(self, user_id: str) -> str:
        return f"{self.namespace}:user:{{{user_id}}}:sessions"

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
            try:
                return self._apply(record)
            except redis.ResponseError as exc:
                raise _response_error(record["sid"], exc) from None
        with self.journal.transaction():
            result = self._apply(record)
            self.journal.append(record)
            return result

    @contextmanager
    def _reading(self, op: str) -> Iterator[None]:
        with self.latency.measure(op):
            if self.journal is not None:
                self.journal.catch_up()  # see what other processes wrote
            yield

    def _apply(self, record: dict[str, Any]) -> Any:
        return getattr(self, f"_apply_{record['op']}")(record)

    def _lookup(self, sid: str) -> tuple[str, bool]:
        """(owner, pinned) as the server has them now; SessionNotFound when it is gone."""
        try:
            owner, pinned = self.client.hmget(self._meta(sid), ["user_id", "pinned"])
        except redis.ResponseError as exc:
            raise _response_error(sid, exc) from None
        if owner is None:
            raise SessionNotFound(f"session {sid} does not exist or has expired")
        self._owners[sid] = owner
        return owner, pinned == "1"

    def _owner(self, sid: str) -> str:
        """The session's owner, which never changes: asked of the server once per process."""
        return self._owners.get(sid) or self._lookup(sid)[0]

    def _set_expiry(self, pipe, sid: str, deadline: float | None) -> None:
        for key in (self._meta(sid), self._messages(sid), self._ids(sid)):
            if deadline is None:
                pipe.persist(key)
            else:
                pipe.pexpireat(key, _ms(deadline))

    # ------------------------------------------------------------- records
    def _apply_create(self, r: dict[str, Any]) -> str:
        sid, now = r["sid"], r["at"]
        fields = {"user_id": r["user"], "created_at": now, "pinned": 0, "model": ""}
        if r.get("title"):
            fields["title"] = r["title"]
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self._meta(sid), mapping=fields)
        if r["deadline"] is not None:
            pipe.pexpireat(self._meta(sid), _ms(r["deadline"]))
        pipe.zadd(self._user_index(r["user"]), {sid: now})
        pipe.zadd(self._all, {sid: now})
        pipe.execute()
        self._owners[sid] = r["user"]
        return sid

    def _apply_add(self, r: dict[str, Any]) -> Message:
        sid, msg = r["sid"], r["msg"]
        title = title_from(msg["content"]) if msg["role"] == "user" else ""
        deadline = "" if r["deadline"] is None else _ms(r["deadline"])
        try:
            added = self._add_script(
                keys=[self._meta(sid), self._messages(sid), self._user_index(self._owner(sid)), self._ids(sid)],
                args=[json.dumps(msg, ensure_ascii=False), self.max_messages, deadline,
                      msg["timestamp"], sid, title, msg["id"]],
            )
        except redis.ResponseError as exc:
            raise _response_error(sid, exc) from None
        if not added:
            self._owners.pop(sid, None)
            raise SessionNotFound(f"session {sid} does not exist or has expired")
        return _message_from(msg)

    def _apply_rename(self, r: dict[str, Any]) -> None:
        self._lookup(r["sid"])
        self.client.hset(self._meta(r["sid"]), "title", r["title"])

    def _apply_pin(self, r: dict[str, Any]) -> None:
        sid = r["sid"]
        self._lookup(sid)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self._meta(sid), "pinned", 1 if r["pinned"] else 0)
        self._set_expiry(pipe, sid, None if r["pinned"] else r["deadline"])
        pipe.execute()

    def _apply_extend(self, r: dict[str, Any]) -> None:
        sid = r["sid"]
        if self._lookup(sid)[1]:
            return  # pinned: it never expires, there is nothing to extend
        pipe = self.client.pipeline(transaction=True)
        self._set_expiry(pipe, sid, r["deadline"])
        pipe.execute()

    def _apply_clear(self, r: dict[str, Any]) -> bool:
        sid = r["sid"]
        try:
            owner = self._lookup(sid)[0]
        except SessionNotFound:
            return False
        except CorruptSession:
            owner = None  # still clear it: deleting is how an operator repairs it
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self._meta(sid), self._messages(sid), self._ids(sid))
        if owner is not None:
            pipe.zrem(self._user_index(owner), sid)
        pipe.zrem(self._all, sid)
        deleted = pipe.execute()[0]
        self._owners.pop(sid, None)
        return deleted > 0

    def _apply_defer(self, r: dict[str, Any]) -> None:
        sid = r["sid"]
        self._apply(r["change"])
        last = self.client.lindex(self._messages(sid), -1)
        queued = json.loads(self.client.hget(self._meta(sid), "queued") or "[]")
        queued.append({"call": r["call"], "args": r["args"], "after": json.loads(last)["id"] if last else None})
        self.client.hset(self._meta(sid), "queued", json.dumps(queued, ensure_ascii=False))

    def _apply_settle(self, r: dict[str, Any]) -> bool:
        sid = r["sid"]
        queued = json.loads(self.client.hget(self._meta(sid), "queued") or "[]")[r["changes"]:]
        self.client.ltrim(self._messages(sid), r["messages"], -1)
        if queued or self.client.llen(self._messages(sid)):
            self.client.hset(self._meta(sid), "queued", json.dumps(queued, ensure_ascii=False))
            return False
        return self._apply_clear({"op": "clear", "sid": sid})

    def _apply_restore(self, r: dict[str, Any]) -> None:
        """A whole session at once: what journal compaction writes."""
        sid, meta = r["sid"], r["meta"]
        if r["deadline"] is not None and r["deadline"] <= self.clock():
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self._meta(sid), self._messages(sid), self._ids(sid))
        pipe.hset(self._meta(sid), mapping=meta)
        if r["messages"]:
            pipe.rpush(self._messages(sid), *r["messages"])
            ids = {}
            for raw in r["messages"]:
                try:
                    data = json.loads(raw)
                    ids[str(data["id"])] = float(data["timestamp"])
                except (ValueError, TypeError, KeyError):
                    continue  # a garbled message: reading the history reports it
            if ids:
                pipe.zadd(self._ids(sid), ids)
        self._set_expiry(pipe, sid, r["deadline"])
        pipe.zadd(self._user_index(meta["user_id"]), {sid: r["last_activity"]})
        pipe.zadd(self._all, {sid: float(meta["created_at"])})
        pipe.execute()
        self._owners[sid] = meta["user_id"]

    def _reset_state(self) -> None:
        self.client.flushdb()
        self._owners.clear()

    def _snapshot_records(self) -> Iterator[dict[str, Any]]:
        """Every live session as one `restore` record: the compacted journal."""
        now = self.clock()
        for sid in self.client.zrange(self._all, 0, -1):
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(self._meta(sid))
            pipe.lrange(self._messages(sid), 0, -1)
            pipe.pttl(self._meta(sid))
            meta, messages, pttl = pipe.execute()
            if meta and "user_id" in meta:
                deadline = None if pttl < 0 else now + pttl / 1000
                activity = _last_activity(meta, messages[-1] if messages else None)
                yield {"op": "restore", "sid": sid, "meta": meta, "messages": messages,
                       "deadline": deadline, "last_activity": activity}

    # --------------------------------------------------------------- writes
    def create_session(self, user_id: str, title: str | None = None, *, session_id: str | None = None) -> str:
        with self.latency.measure("create_session"):
            now = self.clock()
            record = {
                "op": "create",
                "sid": session_id or new_session_id(),
                "user": str(user_id),
                "title": title_from(title) if title else None,
                "at": now,
                "deadline": self._deadline(now),
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
    ) -> Message:
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
            record = {
                "op": "add",
                "sid": session_id,
                "msg": msg,
                "deadline": self._deadline(self.clock()),
            }
            return self._commit(record)

    def _change(self, call: str, sid: str, *args) -> dict[str, Any]:
        """The record of a change to a session's settings (rename, pin, unpin, extend)."""
        if call == "rename_session":
            return {"op": "rename", "sid": sid, "title": title_from(args[0]) or "untitled"}
        if call == "pin_session":
            return {"op": "pin", "sid": sid, "pinned": True, "deadline": None}
        if call == "unpin_session":
            return {"op": "pin", "sid": sid, "pinned": False, "deadline": self._deadline(self.clock())}
        if call == "extend_session":
            return {"op": "extend", "sid": sid, "deadline": self._deadline(self.clock(), *args)}
        raise ValueError(f"not a change to a session: {call!r}")

    def rename_session(self, session_id: str, title: str) -> None:
        with self.latency.measure("rename_session"):
            self._commit(self._change("rename_session", session_id, title))

    def pin_session(self, session_id: str) -> None:
        with self.latency.measure("pin_session"):
            self._commit(self._change("pin_session", session_id))

    def unpin_session(self, session_id: str) -> None:
        with self.latency.measure("pin_session"):
            self._commit(self._change("unpin_session", session_id))

    def extend_session(self, session_id: str, ttl: int | None = None) -> int | None:
        """Restart the idle countdown (at `ttl` seconds, default the store's); seconds left."""
        with self.latency.measure("extend_session"):
            self._commit(self._change("extend_session", session_id, ttl))
        return self.ttl(session_id)

    # -------------------------------------------- the failover store's outbox
    def defer(self, session_id: str, call: str, *args) -> None:
        """Make a change here and queue `call(session_id, *args)`, after the messages held
        now, to be made again on Redis (see `queued_changes`)."""
        change = self._change(call, session_id, *args)
        self._commit({"op": "defer", "sid": session_id, "call": call, "args": list(args), "change": change})

    def queued_changes(self, session_id: str) -> list[dict[str, Any]]:
        """Deferred changes, oldest first: {call, args, after: id of the message before it}."""
        with self._reading("queued_changes"):
            return json.loads(self.client.hget(self._meta(session_id), "queued") or "[]")

    def settle(self, session_id: str, messages: int, changes: int) -> bool:
        """Forget the first `messages` messages and `changes` changes (now on Redis); the
        session goes once nothing is left. True when it went."""
        return self._commit({"op": "settle", "sid": session_id, "messages": messages, "changes": changes})

    def clear_session(self, session_id: str) -> bool:
        with self.latency.measure("clear_session"):
            return self._commit({"op": "clear", "sid": session_id})

    # ---------------------------------------------------------------- reads
    def get_session(self, session_id: str) -> Session | None:
        with self._reading("get_session"):
            pipe = self.client.pipeline(transaction=False)
            self._queue_session_reads(pipe, session_id)
            try:
                fields = pipe.execute()
            except redis.ResponseError as exc:
                raise CorruptSession(f"session {session_id}: {exc}") from None
            if not fields[0]:
                return None
            return self._session_from(session_id, *fields)

    def _queue_session_reads(self, pipe, sid: str) -> None:
        """What `_session_from` needs, queued on a pipeline (4 replies)."""
        pipe.hgetall(self._meta(sid))
        pipe.llen(self._messages(sid))
        pipe.pttl(self._meta(sid))
        pipe.lindex(self._messages(sid), -1)

    def _session_from(self, sid: str, meta: dict[str, str], count: int, pttl: int, last: str | None) -> Session:
        try:
            session = Session(
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
        self._owners[sid] = session.user_id
        return session

    def ttl(self, session_id: str) -> int | None:
        """Seconds until the session expires; None when it never does."""
        with self._reading("ttl"):
            pttl = self.client.pttl(self._meta(session_id))
        if pttl == -2:
            raise SessionNotFound(f"session {session_id} does not exist or has expired")
        return None if pttl == -1 else math.ceil(pttl / 1000)

    def get_messages(self, session_id: str, start: int = 0, end: int = -1) -> list[Message]:
        with self._reading("get_messages"):
            try:
                raw = self.client.lrange(self._messages(session_id), start, end)
            except redis.ResponseError as exc:
                raise CorruptSession(f"session {session_id}: {exc}") from None
            return [_parse_message(session_id, item) for item in raw]

    def get_conversation_history(self, session_id: str) -> list[Message]:
        return self.get_messages(session_id, 0, -1)

    def get_last_n_messages(self, session_id: str, n: int) -> list[Message]:
        return self.get_messages(session_id, -n, -1) if n > 0 else []

    def format_history_as_context(self, session_id: str, n: int = 10) -> str:
        return "\n".join(f"{m.role.capitalize()}: {m.content}" for m in self.get_last_n_messages(session_id, n))

    def _page(self, index: str, offset: int, limit: int) -> list[Session]:
        """Sessions from a listing index, newest activity first, pruning the dead ones."""
        found: list[Session] = []
        position = offset
        while len(found) < limit:
            sids = self.client.zrevrange(index, position, position + max(limit - len(found), 1) - 1)
            if not sids:
                break
            pipe = self.client.pipeline(transaction=False)
            for sid in sids:
                self._queue_session_reads(pipe, sid)
            results = pipe.execute(raise_on_error=False)
            dead = []
            for i, sid in enumerate(sids):
                fields = results[4 * i : 4 * i + 4]
                if any(isinstance(x, Exception) for x in fields):
                    log.warning("skipping session %s: its keys hold foreign data", sid)
                    position += 1
                    continue
                if not fields[0]:
                    dead.append(sid)
                    continue
                try:
                    found.append(self._session_from(sid, *fields))
                except CorruptSession as exc:
                    log.warning("skipping %s", exc)
                position += 1
            if dead:  # expired: drop them from the indexes so no listing shows them again
                pipe = self.client.pipeline(transaction=False)
                pipe.zrem(index, *dead)
                pipe.zrem(self._all, *dead)
                pipe.execute()
        return found

    def get_all_active_sessions(self, user_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Session]:
        """One user's sessions, most recent activity first; or everyone's (user_id None),
        newest first."""
        with self._reading("list_sessions"):
            index = self._all if user_id is None else self._user_index(user_id)
            return self._page(index, offset, limit)

    def search_sessions(self, user_id: str, text: str, limit: int = 50) -> list[Session]:
        """This user's sessions whose title or any message contains `text` (case-insensitive)."""
        needle = text.casefold().strip()
        matches: list[Session] = []
        offset = 0
        while len(matches) < limit:
            batch = self.get_all_active_sessions(user_id, limit=LISTING_BATCH, offset=offset)
            if not batch:
                break
            offset += len(batch)
            untitled = [s for s in batch if needle not in s.title.casefold()]
            pipe = self.client.pipeline(transaction=False)
            for s in untitled:
                pipe.lrange(self._messages(s.id), 0, -1)
            contents = dict(zip((s.id for s in untitled), pipe.execute(raise_on_error=False)))
            for s in batch:
                raw = contents.get(s.id)
                if raw is None or (not isinstance(raw, Exception) and _any_message_contains(s.id, raw, needle)):
                    matches.append(s)
        return matches[:limit]

    def _census(self) -> tuple[int, int]:
        """(live sessions, messages), pruning dead sessions from the global index as it goes."""
        sessions = messages = 0
        start = 0
        while sids := self.client.zrange(self._all, start, start + 999):
            pipe = self.client.pipeline(transaction=False)
            for sid in sids:
                pipe.exists(self._meta(sid))
                pipe.llen(self._messages(sid))
            replies = pipe.execute(raise_on_error=False)
            dead = [sid for sid, alive in zip(sids, replies[::2]) if alive == 0]
            sessions += len(sids) - len(dead)
            messages += sum(n for n in replies[1::2] if isinstance(n, int))
            if dead:
                self.client.zrem(self._all, *dead)
            start += len(sids) - len(dead)
        return sessions, messages

    def count_sessions(self) -> int:
        with self._reading("count_sessions"):
            return self._census()[0]

    def get_session_stats(self) -> StoreStats:
        with self._reading("stats"):
            sessions, messages = self._census()
            server = self._server_info()
        return StoreStats(
            backend=self.backend,
            health=self.health,
            sessions=sessions,
            messages=messages,
            memory_bytes=server.pop("used_memory", None),
            latency_ms=self.latency.summary(),
            server=server,
            location=self.location,
        )

    def _server_info(self) -> dict[str, Any]:
        try:
            info = self.client.info()
        except redis.ResponseError:
            return {}
        keep = ("redis_version", "used_memory", "used_memory_human", "used_memory_peak_human",
                "maxmemory_human", "connected_clients", "uptime_in_seconds", "aof_enabled")
        return {k: info[k] for k in keep if k in info}

    def ping(self) -> bool:
        return bool(self.client.ping())

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        self.client.close()


def _message_from(data: dict[str, Any]) -> Message:
    return Message(
        id=str(data["id"]),
        role=str(data["role"]),
        content=str(data["content"]),
        timestamp=float(data["timestamp"]),
        sources=tuple(data.get("sources") or ()),
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
