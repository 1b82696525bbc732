"""A process catching up on what others wrote to a shared journal (chaos finding F5): it
applied thousands of records while holding the journal's file lock, so every other
process's write waited for it (0.35–1.25 s in the chaos soak's outbox). Now only reading the
new bytes holds the lock."""
from __future__ import annotations

import fcntl
import os

from ragtui.sessions import open_store


def _held_by_someone(lock_path) -> bool:
    """Whether another open file description holds the flock (a writer would wait)."""
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # (releases it, if taken)
    return False


def test_catching_up_applies_what_others_wrote_without_holding_their_writes(tmp_path, monkeypatch):
    writer = open_store("local", data_dir=tmp_path / "data")
    reader = open_store("local", data_dir=tmp_path / "data")
    sid = writer.create_session("alice", "written elsewhere")
    for i in range(20):
        writer.add_message(sid, "user", f"m{i}")
    journal = reader.journal
    lock = journal.path.with_name(journal.path.name + ".lock")
    apply = journal._apply
    held: list[bool] = []

    def applying(record):
        held.append(_held_by_someone(lock))
        return apply(record)

    monkeypatch.setattr(journal, "_apply", applying)
    assert [m.content for m in reader.get_conversation_history(sid)] == [f"m{i}" for i in range(20)]
    assert len(held) == 21 and not any(held), "the journal was locked while records were applied"
    writer.close()
    reader.close()


def test_catching_up_after_a_compaction_elsewhere_starts_from_the_new_file(tmp_path):
    writer = open_store("local", data_dir=tmp_path / "data")
    reader = open_store("local", data_dir=tmp_path / "data")
    sid = writer.create_session("alice")
    writer.add_message(sid, "user", "before")
    assert [m.content for m in reader.get_conversation_history(sid)] == ["before"]
    writer.journal.compact()  # a new file under the same name
    writer.add_message(sid, "user", "after")
    assert [m.content for m in reader.get_conversation_history(sid)] == ["before", "after"]
    writer.close()
    reader.close()
