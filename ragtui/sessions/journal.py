"""The local store's durability: an append-only journal of store records.

One JSON line per change, written whole and fsynced before the change is acknowledged, so
`kill -9` loses nothing that was acknowledged. A write that fails part-way (disk full, a
read-only remount, an I/O error) is not acknowledged: its bytes are cut off, the store's
state is rebuilt without it, and the caller gets one line naming the file.

Several processes may share one journal: writers hold an exclusive flock while they catch
up, apply and append; readers a shared one while they catch up.

Damage never stops the open. A record that cannot be read or applied is skipped with a
warning naming the line and the session; messages whose session's create record is damaged
are kept by recreating the session; a last record missing only its newline is kept. A torn
last line (an interrupted write, never acknowledged) is cut off by the next writer.
Replayed later than written, only each session's last deadline is applied: an earlier one
that has passed since (the create record's, in a chat longer than the TTL) must not delete
a session that later messages kept alive.

When the file has grown to twice its compacted size (plus 1 MiB), it is rewritten as one
`restore` record per live session and swapped in atomically; other processes notice the
new inode and reload. Records that could not be applied are first appended to a side file
(`<journal>.damaged`), so compaction never drops them.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import math
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..paths import ensure_private_dir
from ..safe_text import one_line
from .models import SessionNotFound, StoreError

log = logging.getLogger(__name__)

Apply = Callable[[dict[str, Any]], Any]

# Errors that mean "this process may read here but not write": the journal still opens.
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
UNKNOWN_OWNER = "unknown"  # a recreated session whose owner no record names
# Below this much free space a change is refused before it is made: refused after, it costs
# rebuilding the state from the whole journal (a full disk would make every call that slow).
LOW_SPACE = 16 * 1024


class CannotSave(StoreError):
    """A change could not be made durable, so it was not made at all."""


def cannot_save(path: Path, exc: OSError) -> CannotSave:
    reason = exc.strerror or str(exc)
    return CannotSave(f"cannot save to {path}: {reason[:1].lower()}{reason[1:]}")


def _encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (a nearly full disk): go on until all is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


# ------------------------------------------------------------ record shapes
# What store.py writes (see its `_apply_<op>`): checked before a replayed record is applied,
# so a well-formed line with a wrong type is skipped as damaged instead of half-applied.
def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _deadline(value: Any) -> bool:
    return value is None or _number(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _message(value: Any) -> bool:
    return (isinstance(value, dict) and all(_text(value.get(k)) for k in ("id", "role", "content"))
            and _number(value.get("timestamp")) and isinstance(value.get("sources", []), list))


def _meta(value: Any) -> bool:
    if not (isinstance(value, dict) and _text(value.get("user_id")) and all(map(_text, value.values()))):
        return False
    try:
        return math.isfinite(float(value["created_at"]))
    except (KeyError, ValueError):
        return False


SHAPES: dict[str, dict[str, Callable[[Any], bool]]] = {
    "create": {"sid": _text, "user": _text, "at": _number, "deadline": _deadline},
    "add": {"sid": _text, "msg": _message, "deadline": _deadline},
    "rename": {"sid": _text, "title": _text},
    "model": {"sid": _text, "model": _text},
    "pin": {"sid": _text, "pinned": lambda v: isinstance(v, bool), "deadline": _deadline},
    "extend": {"sid": _text, "deadline": _deadline},
    "clear": {"sid": _text},
    "restore": {"sid": _text, "meta": _meta, "messages": lambda v: isinstance(v, list) and all(map(_text, v)),
                "deadline": _deadline, "last_activity": _number},
    # the failover store's outbox: a change queued for Redis, and what a replay has done
    "defer": {"sid": _text, "call": _text, "args": lambda v: isinstance(v, list),
              "change": lambda v: isinstance(v, dict) and v.get("op") in ("rename", "model", "pin", "extend")},
    "settle": {"sid": _text, "messages": _count, "changes": _count},
}


def _malformed(record: Any) -> str | None:
    """Why `record` is not a record store.py wrote, or None. Unknown ops are left to the store."""
    if not isinstance(record, dict) or not _text(record.get("op")):
        return "not a store record"
    for name, valid in SHAPES.get(record["op"], {}).items():
        if not valid(record.get(name)):
            return f"{record['op']} record with a bad {name!r}: {record.get(name)!r:.40}"
    if record["op"] == "create":  # optional: older records name no model, untitled ones no title
        for name in ("title", "model"):
            if record.get(name) is not None and not _text(record[name]):
                return f"create record with a bad {name!r}"
    return None


_SID = re.compile(rb'"sid"\s*:\s*"([^"\\]{1,200})"')
_USER = re.compile(rb'"user(?:_id)?"\s*:\s*("(?:[^"\\]|\\.){0,200}")')


def _parse(line: bytes) -> tuple[Any, str | None]:
    """(record, None), or (whatever parsed, why it is not a record)."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        return None, f"unreadable ({exc})"
    return record, _malformed(record)


_RECORD_START = re.compile(rb'\{"op":')


def _parse_line(line: bytes) -> list[tuple[bytes, Any, str | None]]:
    """[(text, record, problem)] for one line. A line that does not parse but holds several
    records run together (the newline between them damaged) gives each of them."""
    record, problem = _parse(line)
    starts = [m.start() for m in _RECORD_START.finditer(line)] if record is None else []
    if len(starts) < 2 or starts[0] != 0:
        return [(line, record, problem)]
    pieces = []
    for piece in (line[a:b] for a, b in zip(starts, starts[1:] + [len(line)])):
        parsed = _parse(piece)
        if parsed[0] is None:  # the byte that was the newline now ends this piece
            parsed = _parse(piece[:-1])
            piece = piece[:-1] if parsed[0] is not None else piece
        pieces.append((piece, *parsed))
    return pieces


def _sets_expiry(record: dict[str, Any]) -> dict[str, Any] | None:
    """The part of `record` that carries a deadline: itself, or a deferred change inside it."""
    if "deadline" in record:
        return record
    change = record.get("change")
    return change if isinstance(change, dict) and "deadline" in change else None


def _with_deadline(record: dict[str, Any], deadline: float | None) -> dict[str, Any]:
    """`record` as if written with `deadline`, set as written (not "only ever later")."""
    part = _sets_expiry(record)
    if part is None:
        return record
    changed = {k: v for k, v in part.items() if k != "later_only"} | {"deadline": deadline}
    return changed if part is record else {**record, "change": changed}


def _later(a: float | None, b: float | None) -> float | None:
    """The later of two deadlines; None is never."""
    return None if a is None or b is None else max(a, b)


def _sid_in(line: bytes) -> str | None:
    """The session a damaged line seems to be about, for the warning."""
    match = _SID.search(line)
    return match.group(1).decode("utf-8", "replace") if match else None


def _unattached(*_: Any) -> Any:
    raise RuntimeError("the journal is used before a store attached to it")


class Journal:
    def __init__(self, path: Path, *, compact_slack: int = 1 << 20) -> None:
        self.path = path
        self.damaged_path = path.with_name(path.name + ".damaged")
        self.compact_slack = compact_slack
        self.read_only: OSError | None = None  # why nothing can be saved here, when that is so
        self._dir_error: OSError | None = None
        try:
            ensure_private_dir(path.parent)
        except OSError as exc:
            if exc.errno not in READ_ONLY:
                raise  # otherwise opening the journal below tells whether we can write
            self._dir_error = exc
        self._lock_fd = self._open_lock()
        self._mutex = threading.RLock()  # flock is per process; threads queue here first
        self._fd = -1
        self._inode = -1
        self._compacted_size = 0
        self._torn_at: int | None = None  # our own failed write that could not be cut off yet
        self._apply: Apply = _unattached  # the store's, from attach()
        self._reset: Callable[[], None] = _unattached
        self._snapshot: Callable[[], Iterable[dict[str, Any]]] = _unattached
        self._restart()

    def _restart(self) -> None:
        """Forget what was read: the next read starts again from the first byte."""
        self._offset = 0
        self._newlines = 0  # before _offset: line numbers for warnings
        self._unterminated = False  # the last record read had no newline (kept anyway)
        self._known: set[str] = set()  # sessions created, restored or cleared in this file
        self._owners: set[str] = set()
        self._damaged: list[tuple[int, bytes]] = []  # (line number, line) not applied

    def _open_lock(self) -> int:
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            return os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            if exc.errno not in READ_ONLY + (errno.ENOENT,):
                raise
        try:
            return os.open(lock, os.O_RDONLY)  # flock works on a read-only descriptor too
        except OSError:
            return -1  # no lock file and none can be made: nobody has written here

    # ------------------------------------------------------------ lifecycle
    def attach(self, apply: Apply, reset: Callable[[], None], snapshot: Callable[[], Iterable[dict]]) -> None:
        """Bind to a store and load everything written so far into it."""
        self._apply, self._reset, self._snapshot = apply, reset, snapshot
        with self._locked(fcntl.LOCK_EX):
            self._reopen()
            self._read_new(writer=True)
            self._compacted_size = self._offset

    def close(self) -> None:
        with self._mutex:
            for fd in (self._fd, self._lock_fd):
                if fd >= 0:
                    os.close(fd)
            self._fd = self._lock_fd = -1

    # ---------------------------------------------------------------- locks
    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        with self._mutex:
            if self._lock_fd < 0:
                yield
                return
            fcntl.flock(self._lock_fd, mode)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def catch_up(self) -> None:
        """Apply what other processes appended since we last looked. Only reading the new
        bytes holds the file lock: applying them (thousands, in a process that seldom looks,
        after an outage) holds up this process's threads, not the other processes' writes
        (the file only grows; a compaction swaps in a new one, found at the next look)."""
        with self._mutex:
            with self._locked(fcntl.LOCK_SH):
                self._follow_swaps()
                batch = self._read_batch(writer=False)
            self._load(batch)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the journal for one change: see all earlier ones, then append ours."""
        with self._locked(fcntl.LOCK_EX):
            self._follow_swaps()
            if self._torn_at is not None:
                self._cut(self._torn_at)
                self._torn_at = None
            self._read_new(writer=True)
            self._refuse_if_full()
            yield
            if self.read_only is None and self._offset > 2 * self._compacted_size + self.compact_slack:
                self._compact()

    def _refuse_if_full(self) -> None:
        if self.read_only is not None:
            raise cannot_save(self.path, self.read_only)
        try:
            space = os.fstatvfs(self._fd)
        except OSError:
            return  # a file system that cannot say: the write itself will tell
        if space.f_bavail * space.f_frsize < LOW_SPACE:
            raise cannot_save(self.path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    def compact(self) -> None:
        """Rewrite the journal as its live sessions now (otherwise done as it grows)."""
        with self._locked(fcntl.LOCK_EX):
            self._follow_swaps()
            self._read_new(writer=True)
            if self.read_only is None:
                self._compact()

    def append(self, record: dict[str, Any]) -> None:
        """Write `record` whole and fsync it, or raise CannotSave having kept nothing of it."""
        line = _encode(record)
        if self._unterminated:
            line = b"\n" + line  # the last record was kept without its newline: end it first
        start = self._offset
        try:
            if self.read_only is not None:
                raise self.read_only
            _write_all(self._fd, line)
            os.fsync(self._fd)
        except OSError as exc:
            self._roll_back(start)
            raise cannot_save(self.path, exc) from None
        self._offset += len(line)
        self._newlines += line.count(b"\n")
        self._unterminated = False

    def _roll_back(self, start: int) -> None:
        """Undo a change whose record did not reach the disk whole: cut off what was written,
        then rebuild the store's state from the journal as it was before."""
        if self.read_only is None:  # otherwise nothing was written
            try:
                if os.fstat(self._fd).st_size > start:
                    os.ftruncate(self._fd, start)
            except OSError:
                self._torn_at = start  # cut before the next append; never read past it meanwhile
        self._reset()
        self._restart()
        self._read_new(writer=False)

    def _cut(self, offset: int) -> None:
        try:
            os.ftruncate(self._fd, offset)
        except OSError as exc:
            raise cannot_save(self.path, exc) from None

    # -------------------------------------------------------------- reading
    def _reopen(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._inode, self._torn_at = -1, -1, None
        self._restart()
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            self.read_only = None
        except OSError as exc:
            if exc.errno not in READ_ONLY + (errno.ENOENT,):
                raise
            if exc.errno == errno.ENOENT and self._dir_error is not None:
                exc = self._dir_error  # its folder could not be made: say why
            if self.read_only is None:
                log.warning("%s: %s: sessions there can be read but nothing new can be saved",
                            self.path, (exc.strerror or str(exc)).lower())
            self.read_only = exc
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return  # nothing was ever saved here
        else:
            os.fchmod(self._fd, 0o600)
        self._inode = os.fstat(self._fd).st_ino

    def _follow_swaps(self) -> None:
        """Another process compacted the journal: start again from the new file."""
        try:
            swapped = os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            swapped = self._inode != -1 or self.read_only is None
        if swapped:
            self._reopen()
            self._reset()

    def _read_new(self, *, writer: bool) -> None:
        self._load(self._read_batch(writer=writer))

    def _read_batch(self, *, writer: bool) -> list[tuple[int, bytes, Any, str | None]]:
        """The records appended since the last read, parsed, not applied yet."""
        if self._fd < 0:
            return []
        end = os.fstat(self._fd).st_size if self._torn_at is None else self._torn_at
        if end <= self._offset:
            return []
        data = os.pread(self._fd, end - self._offset, self._offset)
        *lines, tail = data.split(b"\n")
        batch: list[tuple[int, bytes, Any, str | None]] = []  # (line number, text, record, problem)
        for line in lines:
            if line.strip():
                batch += [(self._newlines + 1, *parsed) for parsed in _parse_line(line)]
            self._offset += len(line) + 1
            self._newlines += 1
        if lines:
            self._unterminated = False
        if tail and self._keep_tail(tail, writer=writer):
            batch += [(self._newlines + 1, *parsed) for parsed in _parse_line(tail)]
            self._offset += len(tail)
            self._unterminated = True  # the next append supplies the newline
        return batch

    def _keep_tail(self, tail: bytes, *, writer: bool) -> bool:
        """A last line without its newline: a complete record is kept; anything else is an
        interrupted write (never acknowledged), cut off by the next writer."""
        try:
            complete = isinstance(json.loads(tail), dict)
        except ValueError:
            complete = False
        if complete and writer:
            log.warning("%s line %d: the last record has no newline (an interrupted write); kept",
                        self.path, self._newlines + 1)
        elif not complete and writer and self.read_only is None:
            log.warning("%s line %d: skipping a torn last record (%d bytes), left by an interrupted write",
                        self.path, self._newlines + 1, len(tail))
            self._cut(self._offset)
        return complete

    def _load(self, batch: list[tuple[int, bytes, Any, str | None]]) -> None:
        """Apply records read from the file; a damaged one is set aside, never fatal.

        Replayed later than written, a deadline may have passed although a later record
        pushed it back (each message restarts the countdown): applied as written, the create
        record's would delete a session that is still in use. So only each session's last
        deadline in the batch is applied (an "only ever later" extend counted against the
        ones before it); the earlier ones are replayed without expiry."""
        last_expiry: dict[Any, int] = {}
        deadline: dict[Any, float | None] = {}  # set by this batch: each session's as it leaves it
        for i, (_, _, record, problem) in enumerate(batch):
            part = _sets_expiry(record) if problem is None else None
            if part is not None:
                sid = record.get("sid")
                if not part.get("later_only"):
                    deadline[sid] = part["deadline"]
                elif sid in deadline:
                    deadline[sid] = _later(deadline[sid], part["deadline"])
                last_expiry[sid] = i
        for i, (number, line, record, problem) in enumerate(batch):
            if problem is None:
                sid = record.get("sid")
                if sid in deadline:  # else: "only ever later" extends alone, applied as written
                    record = _with_deadline(record, deadline[sid] if last_expiry[sid] == i else None)
                problem = self._apply_replayed(record, number)
                if problem is None:
                    continue
            self._damaged.append((number, line))
            sid = record.get("sid") if isinstance(record, dict) and _text(record.get("sid")) else _sid_in(line)
            about = f"session {one_line(sid, 40)}: " if sid else ""
            log.warning("%s line %d: %sskipping a damaged record: %s",
                        self.path, number, about, one_line(problem, 120))

    def _apply_replayed(self, record: dict[str, Any], number: int) -> str | None:
        """Apply a well-formed record; what went wrong when it could not be applied."""
        sid = record.get("sid")
        # Any exception: a record that cannot be applied must not stop the open.
        try:
            try:
                self._apply(record)
            except SessionNotFound:
                if sid in self._known or not self._recreate(record, number):
                    # gone by then (expired or deleted): nothing to restore
                    log.debug("%s line %d: session %s is gone; record not applied", self.path, number, sid)
        except Exception as exc:  # noqa: BLE001
            return f"{exc.__class__.__name__}: {exc}"
        if record["op"] in ("create", "restore", "clear"):
            self._known.add(record["sid"])  # their shape has one
            owner = record.get("user") or (record.get("meta") or {}).get("user_id")
            if owner:
                self._owners.add(owner)
        return None

    def _recreate(self, record: dict[str, Any], number: int) -> bool:
        """A change to a session this file never created: its create record is damaged.
        Recreate the session so the intact records after it are kept."""
        sid, deadline = record["sid"], record.get("deadline")
        if deadline is not None and deadline <= time.time():
            return False  # it would have expired by now anyway
        damaged_at, owner = self._damaged_create(sid)
        owner = record.get("user") or owner  # records since layout v2 name their owner
        at = record["msg"]["timestamp"] if record["op"] == "add" else time.time()
        self._apply({"op": "create", "sid": sid, "user": owner, "title": None, "at": at, "deadline": deadline})
        self._known.add(sid)
        log.warning("%s line %s: session %s: its create record is damaged; recreated it for user %s "
                    "from line %d on", self.path, damaged_at or "?", one_line(sid, 40), one_line(owner, 40), number)
        self._apply(record)
        return True

    def _damaged_create(self, sid: str) -> tuple[int | None, str]:
        """The damaged line that names `sid` and its owner: (line number, owner). Without
        one, the owner is this journal's only user, if it has just one."""
        needle = f'"{sid}"'.encode()
        for number, line in self._damaged:
            match = _USER.search(line) if needle in line else None
            if match:
                try:
                    return number, json.loads(match.group(1))
                except ValueError:
                    pass
        return None, next(iter(self._owners)) if len(self._owners) == 1 else UNKNOWN_OWNER

    # ----------------------------------------------------------- compaction
    def _compact(self) -> None:
        """Rewrite the journal as its live sessions. Anything going wrong leaves the old file
        in place: the change that triggered compaction is already saved."""
        tmp = self.path.with_name(self.path.name + ".compacting")
        try:
            self._keep_damaged()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                records = 0
                for record in self._snapshot():
                    _write_all(fd, _encode(record))
                    records += 1
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("%s: not compacted (%s); it keeps growing until there is room",
                        self.path, exc.strerror or exc)
            tmp.unlink(missing_ok=True)
            self._compacted_size = self._offset  # try again after as much growth again
            return
        try:
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the rename itself must survive a crash
            finally:
                os.close(dir_fd)
        except OSError as exc:  # the new file is in place all the same: carry on with it
            log.warning("%s: compacted, but its folder could not be synced (%s)", self.path, exc.strerror or exc)
        known, owners = self._known, self._owners
        self._reopen()
        self._known, self._owners = known, owners  # the same sessions, now as restore records
        self._offset = self._compacted_size = os.fstat(self._fd).st_size
        self._newlines = records
        log.info("%s: compacted to %d bytes", self.path, self._compacted_size)

    def _keep_damaged(self) -> None:
        """Append the records that could not be applied to the side file, durably."""
        if not self._damaged:
            return
        fd = os.open(self.damaged_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            _write_all(fd, b"".join(line + b"\n" for _, line in self._damaged))
            os.fsync(fd)
        finally:
            os.close(fd)
        log.warning("%s: %d records that could not be applied are kept in %s",
                    self.path, len(self._damaged), self.damaged_path)
        self._damaged = []
