"""Issue 9 case 9: hostile input on the command line is refused in one line or shown inert."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ragtui import cli
from ragtui.sessions import open_store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ACTIVE = set("\x1b\x07\x9b" + BIDI)  # what a terminal would act on, or reorder text by


@pytest.fixture
def saved(private_data_dir):
    """alice's session in the local store, with one message."""
    store = open_store("local", data_dir=private_data_dir)
    sid = store.create_session("alice", "a chat")
    store.add_message(sid, "user", "hello")
    store.close()
    return sid


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--store", "local", "--user", "alice", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ragtui: "), err
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("ttl", ["-5", "0", "99999999999999999999", str(10**10)])
def test_extend_refuses_a_bad_ttl_and_keeps_the_session(saved, capsys, private_data_dir, ttl):
    code, out, err = run(capsys, "sessions", "extend", saved, "--ttl", ttl)
    assert_refused(code, err, "--ttl")
    store = open_store("local", data_dir=private_data_dir)
    assert [m.content for m in store.get_conversation_history(saved)] == ["hello"]
    assert 0 < store.ttl(saved) <= 3600


def test_an_absurd_ttl_setting_is_refused_before_any_session_is_made(capsys):
    code, _, err = run(capsys, "--ttl", "99999999999999999999", "sessions", "list")
    assert_refused(code, err, "'ttl'")  # it was accepted, then every new session died in Redis


def test_extend_with_a_sane_ttl_still_works(saved, capsys, private_data_dir):
    code, out, _ = run(capsys, "sessions", "extend", saved, "--ttl", "7200")
    assert code == 0 and ("expires in 2:00:00" in out or "expires in 1:59:59" in out)


@pytest.mark.parametrize("flags", [("--limit", "0"), ("--limit", "-1"), ("--limit", "10000000000000000000000"),
                                   ("--offset", "-1")])
def test_list_refuses_a_bad_limit_or_offset(saved, capsys, flags):
    code, out, err = run(capsys, "sessions", "list", *flags)
    assert_refused(code, err, flags[0])
    assert out == ""  # not "no sessions": that would be a lie


def test_ids_echoed_in_errors_cannot_drive_the_terminal(saved, capsys):
    for action in ("show", "delete", "export"):
        code, out, err = run(capsys, "sessions", action, f"x{ESCAPES}{BIDI}y")
        assert_refused(code, err, "no session xy")
        assert not ACTIVE & set(err + out)


def test_titles_lose_escapes_and_bidi_overrides_but_json_keeps_them_exactly(saved, capsys, private_data_dir):
    store = open_store("local", data_dir=private_data_dir)
    title = f"invoice{BIDI[:5]}fdp.exe{ESCAPES}\nsecond line"
    store.rename_session(saved, title)
    stored = store.get_session(saved).title
    store.close()
    for argv in (("sessions", "list"), ("sessions", "show", saved)):
        code, out, _ = run(capsys, *argv)
        assert code == 0
        assert "invoicefdp.exe" in out and not ACTIVE & set(out)
    code, out, _ = run(capsys, "sessions", "list", "--json")
    assert not ACTIVE & set(out)
    assert len(out.strip().splitlines()) == 1
    assert json.loads(out)[0]["title"] == stored


def test_undecodable_bytes_in_an_argument_give_one_line_not_a_traceback(saved, tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-m", "ragtui", "--store", "local", "sessions", "show", b"\xff\xfe\x1b]0;x\x07id"],
        cwd=ROOT, capture_output=True, env=env, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
    assert b"\x1b" not in result.stderr and b"\x07" not in result.stderr


def test_export_to_a_terminal_is_inert_and_to_a_pipe_exact(saved, capsys, private_data_dir, monkeypatch):
    store = open_store("local", data_dir=private_data_dir)
    store.add_message(saved, "assistant", f"answer{ESCAPES}{BIDI}")
    store.close()
    code, piped, _ = run(capsys, "sessions", "export", saved)
    assert code == 0 and f"answer{ESCAPES}{BIDI}" in piped
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, shown, _ = run(capsys, "sessions", "export", saved)
    assert code == 0 and "answer" in shown and not ACTIVE & set(shown)
