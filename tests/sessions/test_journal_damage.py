"""Issue 9 case 8: journal damage is contained — skipped loudly, never fatal, never amplified."""
from __future__ import annotations

import json
import logging
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragtui.sessions import open_store


def _contents(store, sid):
    return [m.content for m in store.get_conversation_history(sid)]


def _lines(path) -> list[bytes]:
    with open(path, "rb") as f:
        return f.read().split(b"\n")


def _write_lines(path, lines: list[bytes]) -> None:
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))


@pytest.fixture
def chat(tmp_path):
    """A local store holding one session of alice's with ten messages, closed."""
    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)
    sid = store.create_session("alice", "ten messages")
    for i in range(10):
        store.add_message(sid, "user" if i % 2 == 0 else "assistant", f"message {i}")
    store.close()
    return data_dir, sid, store.location


@pytest.mark.parametrize("where", [b"{", b"create", b'"sid"'], ids=["brace", "op", "key"])
def test_a_flipped_byte_in_a_create_record_keeps_the_sessions_messages(chat, caplog, where):
    data_dir, sid, journal = chat
    lines = _lines(journal)
    assert json.loads(lines[0])["op"] == "create"
    at = lines[0].index(where) + 1
    lines[0] = lines[0][:at] + bytes([lines[0][at] ^ 0x01]) + lines[0][at + 1:]
    _write_lines(journal, lines)

    with caplog.at_level(logging.WARNING):
        store = open_store("local", data_dir=data_dir)
    assert _contents(store, sid) == [f"message {i}" for i in range(10)]
    assert [s.id for s in store.get_all_active_sessions("alice")] == [sid]  # still alice's
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("line 1" in w and sid in w and "damaged" in w for w in warnings), warnings

    # compaction keeps what it could not apply beside the journal, and loses no message
    store.journal.compact()
    assert _lines(journal + ".damaged")[0] == lines[0]
    store.close()
    again = open_store("local", data_dir=data_dir)
    assert _contents(again, sid) == [f"message {i}" for i in range(10)]
    assert again.get_session(sid).user_id == "alice"


def test_a_well_formed_record_with_a_wrong_type_is_skipped_not_fatal(chat, caplog):
    data_dir, sid, journal = chat
    bad = {"op": "create", "sid": "bad-session", "user": "alice", "title": None, "at": "yesterday", "deadline": None}
    with open(journal, "ab") as f:
        f.write(json.dumps(bad).encode() + b"\n")
    with caplog.at_level(logging.WARNING):
        store = open_store("local", data_dir=data_dir)
    assert _contents(store, sid) == [f"message {i}" for i in range(10)]
    assert [s.id for s in store.get_all_active_sessions("alice")] == [sid]
    assert any("line 12" in r.getMessage() and "bad-session" in r.getMessage() and "'at'" in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING), caplog.text
    store.add_message(sid, "user", "still writable")
    assert _contents(store, sid)[-1] == "still writable"


def test_damage_in_the_middle_skips_only_that_record(chat, caplog):
    data_dir, sid, journal = chat
    lines = _lines(journal)
    at = lines[5].index(b"message 4")  # its record is line 6
    lines[5] = lines[5][:at] + b"\xff\xfe" + lines[5][at + 2:]
    _write_lines(journal, lines)
    with caplog.at_level(logging.WARNING):
        store = open_store("local", data_dir=data_dir)
    assert _contents(store, sid) == [f"message {i}" for i in range(10) if i != 4]
    assert any(f"line 6: session {sid}" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize("flip", [0x01, 0x20, 0x75])  # the newline becomes VT, '*' or DEL
def test_a_flipped_newline_loses_neither_of_the_records_it_joined(chat, caplog, flip):
    data_dir, sid, journal = chat
    data = bytearray(open(journal, "rb").read())
    at = data.index(b"message 4")
    at = data.index(b"\n", at)  # between message 4's record and message 5's
    data[at] ^= flip
    open(journal, "wb").write(bytes(data))
    store = open_store("local", data_dir=data_dir)
    assert _contents(store, sid) == [f"message {i}" for i in range(10)]


def test_a_complete_last_record_missing_only_its_newline_is_kept(chat):
    data_dir, sid, journal = chat
    with open(journal, "rb+") as f:
        data = f.read()
        assert data.endswith(b"\n")
        f.truncate(len(data) - 1)
    store = open_store("local", data_dir=data_dir)
    assert _contents(store, sid) == [f"message {i}" for i in range(10)]
    store.add_message(sid, "user", "message 10")  # not glued onto the unterminated record
    store.close()
    again = open_store("local", data_dir=data_dir)
    assert _contents(again, sid) == [f"message {i}" for i in range(11)]
    assert all(json.loads(line) for line in _lines(journal) if line)


def test_a_reader_process_sees_records_added_after_an_unterminated_one(chat):
    data_dir, sid, journal = chat
    with open(journal, "rb+") as f:
        f.truncate(len(f.read()) - 1)
    reader = open_store("local", data_dir=data_dir)
    writer = open_store("local", data_dir=data_dir)
    writer.add_message(sid, "user", "message 10")
    assert _contents(reader, sid) == [f"message {i}" for i in range(11)]


def test_a_session_older_than_its_ttl_but_still_active_survives_a_reopen(tmp_path):
    """Replayed later, the create record's deadline has passed although every message since
    pushed it back: an expiry a later record overrides must not delete the session."""
    data_dir = tmp_path / "data"
    store = open_store("local", data_dir=data_dir)  # makes the journal's folder
    journal = store.location
    store.close()
    now = time.time()
    sid, ttl = "long-chat", 3600
    records = [{"op": "create", "sid": sid, "user": "alice", "title": "a long chat", "at": now - 3 * ttl,
                "deadline": now - 2 * ttl}]
    for i, at in enumerate((now - 2.5 * ttl, now - 1.5 * ttl, now - 0.5 * ttl)):  # each within the TTL of the last
        records.append({"op": "add", "sid": sid, "deadline": at + ttl,
                        "msg": {"id": f"m{i}", "role": "user", "content": f"message {i}", "timestamp": at, "sources": []}})
    records.append({"op": "create", "sid": "gone", "user": "alice", "title": None, "at": now - 3 * ttl,
                    "deadline": now - 2 * ttl})
    with open(journal, "wb") as f:
        f.write(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    again = open_store("local", data_dir=data_dir)
    assert _contents(again, sid) == ["message 0", "message 1", "message 2"]
    assert 0.4 * ttl < again.ttl(sid) <= 0.5 * ttl  # the last message's deadline, no other
    assert again.get_session("gone") is None  # one that did expire stays expired


@pytest.fixture(scope="module")
def three_chats(tmp_path_factory):
    """A journal of three users' sessions, five messages each: (bytes, {sid: contents})."""
    data_dir = tmp_path_factory.mktemp("three") / "data"
    store = open_store("local", data_dir=data_dir)
    chats = {}
    for user in ("alice", "bob", "carol"):
        sid = store.create_session(user, f"{user}'s chat")
        chats[sid] = [f"{user} {i}" for i in range(5)]
    for i in range(5):
        for sid, contents in chats.items():
            store.add_message(sid, "user", contents[i])
    store.close()
    with open(store.location, "rb") as f:
        return f.read(), chats


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255))
def test_any_flipped_byte_never_stops_the_open_and_spares_the_other_sessions(three_chats, tmp_path, position, flip):
    data, chats = three_chats
    at = int(position * len(data))
    damaged = data[:at] + bytes([data[at] ^ flip]) + data[at + 1:]
    line = data[data.rfind(b"\n", 0, at) + 1: data.find(b"\n", at + 1)]  # a flipped newline: both lines
    data_dir = tmp_path / f"flip-{at}-{flip}"
    (data_dir / "store").mkdir(parents=True, exist_ok=True)
    (data_dir / "store" / "sessions.journal").write_bytes(damaged)
    store = open_store("local", data_dir=data_dir)  # never raises
    for sid, contents in chats.items():
        if sid.encode() not in line:  # a session the damaged line is not about: untouched
            assert _contents(store, sid) == contents
    sid = store.create_session("dave")  # and the store still takes new writes
    store.add_message(sid, "user", "after the damage")
    store.close()
