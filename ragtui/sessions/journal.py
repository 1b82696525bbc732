"""The local store's durability: an append-only journal of store records.

One JSON line per change, fsynced before the change is acknowledged, so `kill -9` loses
nothing that was acknowledged. Several processes may share one journal: writers hold an
exclusive flock while they catch up, apply and append; readers a shared one while they
catch up. A torn last line (a writer killed mid-write) is skipped with a warning and cut
off by the next writer. When the file has grown to twice its compacted size (plus 1 MiB),
it is rewritten as one `restore` record per live session and swapped in atomically;
other processes notice the new inode and reload.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..paths import ensure_private_dir
from .models import StoreError

log = logging.getLogger(__name__)

Apply = Callable[[dict[str, Any]], Any]


class Journal:
    def __init__(self, path: Path, *, compact_slack: int = 1 << 20) -> None:
        ensure_private_dir(path.parent)
        self.path = path
        self.compact_slack = compact_slack
        self._lock_fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        self._mutex = threading.RLock()  # flock is per process; threads queue here first
        self._fd = -1
        self._inode = -1
        self._offset = 0
        self._compacted_size = 0
        self._apply: Apply | None = None
        self._reset: Callable[[], None] | None = None
        self._snapshot: Callable[[], Iterable[dict[str, Any]]] | None = None

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
            fcntl.flock(self._lock_fd, mode)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def catch_up(self) -> None:
        """Apply what other processes appended since we last looked."""
        with self._locked(fcntl.LOCK_SH):
            self._follow_swaps()
            self._read_new(writer=False)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the journal for one change: see all earlier ones, then append ours."""
        with self._locked(fcntl.LOCK_EX):
            self._follow_swaps()
            self._read_new(writer=True)
            yield
            if self._offset > 2 * self._compacted_size + self.compact_slack:
                self._compact()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        os.write(self._fd, line)
        os.fsync(self._fd)
        self._offset += len(line)

    # -------------------------------------------------------------- reading
    def _reopen(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(self._fd, 0o600)
        self._inode = os.fstat(self._fd).st_ino
        self._offset = 0

    def _follow_swaps(self) -> None:
        """Another process compacted the journal: start again from the new file."""
        try:
            swapped = os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            swapped = True
        if swapped:
            self._reopen()
            self._reset()

    def _read_new(self, *, writer: bool) -> None:
        size = os.fstat(self._fd).st_size
        if size <= self._offset:
            return
        data = os.pread(self._fd, size - self._offset, self._offset)
        *lines, torn = data.split(b"\n")
        for line in lines:
            start = self._offset
            self._offset += len(line) + 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("%s: skipping an unreadable record at byte %d", self.path, start)
                continue
            try:
                self._apply(record)
            except (StoreError, KeyError, TypeError, AttributeError) as exc:
                # e.g. a message for a session that had expired by then: nothing to restore
                log.debug("%s: record at byte %d not applied: %s", self.path, start, exc)
        if torn and writer:  # only a crashed writer leaves a line without its newline
            log.warning("%s: skipping a torn last record (%d bytes), left by an interrupted write",
                        self.path, len(torn))
            os.ftruncate(self._fd, self._offset)

    # ----------------------------------------------------------- compaction
    def _compact(self) -> None:
        tmp = self.path.with_name(self.path.name + ".compacting")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:
                for record in self._snapshot():
                    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself must survive a crash
        finally:
            os.close(dir_fd)
        self._reopen()
        self._offset = self._compacted_size = os.fstat(self._fd).st_size
        log.info("%s: compacted to %d bytes", self.path, self._compacted_size)
