"""Issue 9 case 7: a journal write is all or nothing — disk full, I/O errors, read-only dirs."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager

import pytest

from ragtui.sessions import StoreError, open_store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextmanager
def disk_full(monkeypatch, *, short_first: bool = True):
    """os.write as on a nearly full disk: the first call writes half, later ones fail."""
    real_write = os.write
    calls = []

    def write(fd, data):
        calls.append(len(data))
        if short_first and len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write)
        yield calls


def _contents(store, sid):
    return [m.content for m in store.get_conversation_history(sid)]


@pytest.mark.parametrize("short_first", [True, False], ids=["short-write", "no-write"])
def test_disk_full_is_not_acknowledged_and_loses_nothing_after(tmp_path, monkeypatch, short_first):
    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)
    sid = store.create_session("alice")
    store.add_message(sid, "user", "before")
    with disk_full(monkeypatch, short_first=short_first):
        with pytest.raises(StoreError) as failed:
            store.add_message(sid, "user", "while the disk is full")
    assert str(failed.value) == f"cannot save to {store.location}: no space left on device"
    assert _contents(store, sid) == ["before"]  # rolled back: not shown as stored
    assert store.get_session(sid).message_count == 1
    store.add_message(sid, "user", "after")  # space is back: not glued to torn bytes
    assert _contents(store, sid) == ["before", "after"]
    store.close()
    again = open_store("local", data_dir=data_dir)
    assert _contents(again, sid) == ["before", "after"]


def test_a_failed_create_leaves_no_session(tmp_path, monkeypatch):
    store = open_store("local", data_dir=tmp_path / "data")
    with disk_full(monkeypatch), pytest.raises(StoreError, match="no space left"):
        store.create_session("alice", "never saved")
    assert store.get_all_active_sessions("alice") == []


def test_a_compaction_that_fails_keeps_the_old_journal_and_the_change(tmp_path, monkeypatch, caplog):
    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)
    sid = store.create_session("alice")
    store.journal.compact_slack = 0  # the next change, bigger than the file, compacts it

    def replace(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", replace)
        store.add_message(sid, "user", "saved although compaction failed " + "x" * 2000)
    assert "not compacted" in caplog.text
    assert not os.path.exists(store.location + ".compacting")
    store.close()
    assert [c[:32] for c in _contents(open_store("local", data_dir=data_dir), sid)] == ["saved although compaction failed"]


def test_fsync_failure_is_not_acknowledged(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)
    sid = store.create_session("alice")

    def fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        with pytest.raises(StoreError, match=r"cannot save to .*sessions\.journal: input/output error"):
            store.add_message(sid, "user", "maybe on disk, maybe not")
    assert _contents(store, sid) == []
    store.add_message(sid, "user", "later")
    store.close()
    assert _contents(open_store("local", data_dir=data_dir), sid) == ["later"]


def test_the_cli_says_one_line_naming_the_journal(tmp_path, monkeypatch, capsys):
    from ragtui import cli

    store = open_store("local", data_dir=tmp_path / "data")
    sid = store.create_session("alice")
    store.close()
    with disk_full(monkeypatch, short_first=False):
        code = cli.main(["--store", "local", "--user", "alice", "sessions", "rename", sid, "new title"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"ragtui: cannot save to {store.location}: no space left on device"]


def test_redis_down_and_the_disk_full_the_caller_is_told_and_nothing_appears_later(tmp_path, monkeypatch):
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    try:
        store = open_store(server.url, data_dir=tmp_path / "data")
        sid = store.create_session("alice")
        store.add_message(sid, "user", "in Redis")
        server.kill()
        store.add_message(sid, "user", "pending")  # saved in the outbox
        with disk_full(monkeypatch), pytest.raises(StoreError) as failed:
            store.add_message(sid, "user", "nowhere to keep it")
        assert str(failed.value).startswith("cannot save to ") and "outbox.journal: no space left" in str(failed.value)
        server.start()
        assert store.sync()
        assert _contents(store, sid) == ["in Redis", "pending"]
        store.close()
    finally:
        server.stop()


# ------------------------------------------------------------- real filesystems


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 256 kB filesystem (needs root and mount): an extra beside the fake disk above."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or not _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)):
        pytest.skip("needs root and `mount -t tmpfs` (the fake-disk tests above prove the same without them)")
    yield mount_point
    _mount("-o", "remount,rw", str(mount_point))
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


def test_a_real_full_disk_keeps_exactly_what_was_acknowledged(tiny_tmpfs):
    data_dir = tiny_tmpfs / "data"
    store = open_store("local", data_dir=data_dir)
    store.journal.compact_slack = 1 << 30  # no compaction: fill the disk with the journal itself
    sid = store.create_session("alice")
    acknowledged = []
    failures = 0
    # 70 kB messages until one does not fit (a real short write), then small ones until
    # the free space is too low to start one (refused before anything is changed)
    for i in range(400):
        try:
            store.add_message(sid, "user", f"message {i} " + "x" * (70_000 if i < 4 else 300))
            acknowledged.append(i)
        except StoreError as exc:
            assert str(exc) == f"cannot save to {store.location}: no space left on device"
            failures += 1
            if failures == 3:
                break
    assert 3 not in acknowledged and len(acknowledged) > 20
    assert [int(c.split()[1]) for c in _contents(store, sid)] == acknowledged
    store.close()
    again = open_store("local", data_dir=data_dir)
    assert [int(c.split()[1]) for c in _contents(again, sid)] == acknowledged
    # space comes back (the filesystem grows): the next message is kept, nothing glued
    assert _mount("-o", "remount,size=512k", str(tiny_tmpfs))
    again.add_message(sid, "user", "message 999 after")
    again.close()
    last = open_store("local", data_dir=data_dir)
    assert [int(c.split()[1]) for c in _contents(last, sid)] == acknowledged + [999]
    assert not list(tiny_tmpfs.glob("data/store/*.compacting"))


@pytest.fixture
def read_only_data_dir(tmp_path):
    """A data dir that holds a saved session and can no longer be written: a read-only
    tmpfs as root, read-only files in 0500 dirs otherwise (root ignores permissions)."""
    if os.geteuid() == 0:
        data_dir = tmp_path / "ro" / "data"
        data_dir.parent.mkdir()
        if not _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(data_dir.parent)):
            pytest.skip("as root a read-only dir needs `mount -t tmpfs`")
    else:
        data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)
    sid = store.create_session("alice", "saved before")
    store.add_message(sid, "user", "kept")
    store.close()
    if os.geteuid() == 0:
        assert _mount("-o", "remount,ro", str(data_dir.parent))
    else:
        for path in [*(data_dir / "store").iterdir(), data_dir / "store", data_dir]:
            path.chmod(0o500 if path.is_dir() else 0o400)
    yield data_dir, sid
    if os.geteuid() == 0:
        subprocess.run(["umount", "-l", str(data_dir.parent)], check=True)
    else:
        for path in [data_dir, data_dir / "store", *(data_dir / "store").iterdir()]:
            path.chmod(0o700 if path.is_dir() else 0o600)


def test_a_read_only_data_dir_still_reads_and_refuses_writes_in_one_line(read_only_data_dir):
    data_dir, sid = read_only_data_dir
    store = open_store("local", data_dir=data_dir)
    assert _contents(store, sid) == ["kept"]
    with pytest.raises(StoreError, match=r"^cannot save to .*sessions\.journal: (read-only file system|permission denied)$"):
        store.add_message(sid, "user", "nowhere to go")
    assert _contents(store, sid) == ["kept"]


def test_a_read_only_place_for_a_new_data_dir_opens_empty_and_says_why_nothing_is_saved(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    if os.geteuid() == 0:
        if not _mount("-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(parent)):
            pytest.skip("as root a read-only dir needs `mount -t tmpfs`")
    else:
        parent.chmod(0o500)
    try:
        store = open_store("local", data_dir=parent / "data")
        assert store.get_all_active_sessions("alice") == []
        with pytest.raises(StoreError, match=r"^cannot save to .*sessions\.journal: (read-only file system|permission denied)$"):
            store.create_session("alice")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(parent)], check=True)
        else:
            parent.chmod(0o700)


def test_a_read_only_data_dir_does_not_block_redis(read_only_data_dir, redis_url):
    data_dir, _ = read_only_data_dir
    result = subprocess.run(
        [sys.executable, "-m", "ragtui", "--store", redis_url, "--data-dir", str(data_dir), "sessions", "list"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no sessions"
    for target in (redis_url, "auto"):  # auto would move the local sessions: it cannot, and says so
        store = open_store(target, redis_url=redis_url, data_dir=data_dir)
        sid = store.create_session("alice")
        store.add_message(sid, "user", "in Redis")
        assert _contents(store, sid) == ["in Redis"]
        store.close()
