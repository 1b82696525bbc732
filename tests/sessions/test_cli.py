"""`ragtui sessions|stats|doctor` and the settings layers, as a script would use them."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from ragtui.cli import main
from ragtui.config import ConfigError, load_settings
from ragtui.sessions import open_store


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seeded(redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data")
    sid = store.create_session("alice", "About pinning")
    store.add_message(sid, "user", "How do I pin?")
    store.add_message(sid, "assistant", "Press p [1].", [{"n": 1, "source": "guide.md", "location": "chars 0-80"}])
    store.create_session("bob", "Bob's chat")
    return redis_url, sid


def test_sessions_list_show_and_search(capsys, seeded):
    url, sid = seeded
    code, out, _ = run(capsys, "--store", url, "--user", "alice", "sessions", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [s["id"] for s in listed] == [sid]
    assert listed[0]["message_count"] == 2
    code, out, _ = run(capsys, "--store", url, "--user", "alice", "sessions", "list")
    assert sid in out and "About pinning" in out
    code, out, _ = run(capsys, "--store", url, "sessions", "list", "--all", "--json")
    assert {s["user_id"] for s in json.loads(out)} == {"alice", "bob"}
    code, out, _ = run(capsys, "--store", url, "--user", "alice", "sessions", "list", "--search", "press p", "--json")
    assert [s["id"] for s in json.loads(out)] == [sid]
    code, out, _ = run(capsys, "--store", url, "--user", "alice", "sessions", "show", sid, "--json")
    shown = json.loads(out)
    assert [m["content"] for m in shown["messages"]] == ["How do I pin?", "Press p [1]."]
    assert shown["messages"][1]["sources"][0]["source"] == "guide.md"


def test_show_and_export_count_one_message_as_one(capsys, redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data")
    sid = store.create_session("alice", "Just asked")
    store.add_message(sid, "user", "Anyone there?")
    alice = ["--store", redis_url, "--user", "alice", "sessions"]
    assert run(capsys, *alice, "show", sid)[1].startswith("Just asked — 1 message, ttl ")
    code, out, _ = run(capsys, *alice, "export", sid, "-o", str(tmp_path / "one.md"))
    assert code == 0 and out.startswith("exported 1 message to ")


def test_list_all_with_search_finds_every_users_sessions_with_their_owner(capsys, seeded):
    url, sid = seeded
    code, out, _ = run(capsys, "--store", url, "--user", "carol", "--admin", "sessions", "list", "--all",
                       "--search", "BOB'S")
    assert code == 0 and "Bob's chat" in out and " bob " in out and sid not in out
    for text in ("alice", sid[:12], "pinning"):  # by owner, by id, by title
        code, out, _ = run(capsys, "--store", url, "sessions", "list", "--all", "--search", text, "--json")
        assert [(s["id"], s["user_id"]) for s in json.loads(out)] == [(sid, "alice")]
    code, out, _ = run(capsys, "--store", url, "sessions", "list", "--all", "--search", "chat", "--offset", "1")
    assert "no sessions" in out  # one match only: the second page is empty
    code, out, _ = run(capsys, "--store", url, "--user", "carol", "--admin", "sessions", "list", "--search", "pinning")
    assert sid in out and " alice " in out  # --admin alone acts for everyone too


def test_sessions_export_rename_pin_extend_delete(capsys, seeded, tmp_path):
    url, sid = seeded
    url = ["--store", url, "--user", "alice"]
    target = tmp_path / "chat.md"
    assert run(capsys, *url, "sessions", "export", sid, "-o", str(target))[0] == 0
    text = target.read_text()
    assert "# About pinning" in text and "Press p [1]." in text and "Sources:\n- [1] guide.md (chars 0-80)" in text
    code, out, _ = run(capsys, *url, "sessions", "export", sid, "--format", "json")
    assert json.loads(out)["session"]["id"] == sid

    assert run(capsys, *url, "sessions", "rename", sid, "Pins explained")[0] == 0
    assert run(capsys, *url, "sessions", "pin", sid)[0] == 0
    store = open_store(url[1])
    assert store.get_session(sid).title == "Pins explained"
    assert store.ttl(sid) is None
    assert run(capsys, *url, "sessions", "pin", sid, "--off")[0] == 0
    code, out, _ = run(capsys, *url, "sessions", "extend", sid, "--ttl", "7200")
    assert code == 0 and ("expires in 1:59:" in out or "expires in 2:00:00" in out)
    assert run(capsys, *url, "sessions", "delete", sid)[0] == 0
    assert store.get_session(sid) is None


def test_another_user_gets_not_found_for_every_session_command(capsys, seeded, tmp_path):
    url, sid = seeded
    bob = ["--store", url, "--user", "bob"]
    for command in (["show", sid], ["export", sid, "-o", str(tmp_path / "x.md")], ["rename", sid, "mine now"],
                    ["pin", sid], ["pin", sid, "--off"], ["extend", sid], ["delete", sid]):
        code, out, err = run(capsys, *bob, "sessions", *command)
        assert code == 2 and out == "" and err.count("\n") == 1, command
        assert re.match(rf"ragtui: (no session {sid}|session {sid} does not exist)", err), err
    assert not (tmp_path / "x.md").exists()
    code, out, _ = run(capsys, *bob, "sessions", "list", "--json")
    assert [s["user_id"] for s in json.loads(out)] == ["bob"]
    store = open_store(url)  # everyone's (admin): alice's session is as it was
    assert store.get_session(sid).title == "About pinning" and not store.get_session(sid).pinned
    code, out, _ = run(capsys, "--store", url, "--admin", "--user", "bob", "sessions", "show", sid, "--json")
    assert code == 0 and json.loads(out)["session"]["user_id"] == "alice"  # --admin reaches it


def test_list_pages_say_where_they_are(capsys, redis_url):
    store = open_store(redis_url, user="carol")
    made = [store.create_session("carol", f"chat {i}") for i in range(5)]
    code, out, _ = run(capsys, "--store", redis_url, "--user", "carol", "sessions", "list", "--limit", "2")
    assert code == 0 and out.strip().endswith("showing 2 of 5 (1-2; next: --offset 2)")
    code, out, _ = run(capsys, "--store", redis_url, "--user", "carol", "sessions", "list",
                       "--limit", "2", "--offset", "4", "--json")
    assert [s["id"] for s in json.loads(out)] == [made[0]]  # the oldest, last
    code, out, _ = run(capsys, "--store", redis_url, "--user", "carol", "sessions", "list", "--offset", "3")
    assert out.strip().endswith("showing 2 of 5 (4-5)")


def test_errors_are_one_line_and_a_nonzero_exit(capsys, redis_url):
    code, out, err = run(capsys, "--store", redis_url, "sessions", "show", "no-such-session")
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and err.startswith("ragtui: ") and "no-such-session" in err
    code, _, err = run(capsys, "--store", "redis", "--redis-url", "redis://127.0.0.1:1/0", "stats")
    assert code != 0 and "unreachable" in err and err.count("\n") == 1
    code, _, err = run(capsys, "--store", "floppy", "stats")
    assert code != 0 and "unknown store" in err


def test_no_traceback_from_the_real_binary(redis_url):
    done = subprocess.run(
        [sys.executable, "-m", "ragtui", "--store", redis_url, "sessions", "delete", "nope"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "ragtui: no session nope"


def test_hostile_text_never_reaches_the_terminal_as_escapes(capsys, redis_url):
    store = open_store(redis_url)
    sid = store.create_session("alice", "\x1b]0;pwned\x07title")
    store.add_message(sid, "user", "\x1b[2J\x1b[31mred\x1b[0m and a bell\x07")
    _, out, _ = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "show", sid)
    assert "\x1b" not in out and "\x07" not in out
    assert "red and a bell" in out and "title" in out
    _, out, _ = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "list")
    assert "\x1b" not in out and "pwned" not in out


def test_stats_reports_backend_counts_and_latency(capsys, seeded):
    url, _ = seeded
    code, out, _ = run(capsys, "--store", url, "--admin", "stats", "--json")
    stats = json.loads(out)
    assert code == 0
    assert stats["backend"] == "redis" and stats["health"] == "ok"
    assert (stats["sessions"], stats["messages"], stats["users"]) == (2, 2, 2)
    code, out, _ = run(capsys, "--store", url, "--user", "bob", "stats", "--json")
    assert (json.loads(out)["sessions"], json.loads(out)["messages"]) == (1, 0)  # a user's own
    assert stats["memory_bytes"] > 0
    assert stats["server"]["redis_version"]


def test_stats_counts_read_with_thousands_separators(capsys, redis_url, tmp_path):
    store = open_store(redis_url, data_dir=tmp_path / "data")
    for i in range(1001):
        store.create_session("carol", f"chat {i}")
    code, out, _ = run(capsys, "--store", redis_url, "--admin", "stats")
    assert code == 0 and re.search(r"^sessions  1,001$", out, re.MULTILINE)  # QA: "200000" was hard to read
    code, out, _ = run(capsys, "--store", redis_url, "--admin", "stats", "--json")
    assert json.loads(out)["sessions"] == 1001  # what scripts read stays a number


def test_memory_store_is_said_loudly(capsys):
    code, _, err = run(capsys, "--store", "memory", "sessions", "list")
    assert code == 0 and "nothing is kept" in err


def test_doctor_checks_store_and_data_dir(capsys, redis_url):
    code, out, _ = run(capsys, "--store", redis_url, "doctor", "--json")
    report = {c["name"]: c for c in json.loads(out)["checks"]}
    assert report["session store"]["ok"] and "Redis" in report["session store"]["detail"]
    assert report["data dir"]["ok"]
    assert report["embedder"]["ok"] and "ONNX Runtime" in report["embedder"]["detail"]
    code, out, _ = run(capsys, "--store", "redis", "--redis-url", "redis://127.0.0.1:1/0", "doctor", "--json")
    report = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and not report["session store"]["ok"]


def test_settings_layers(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('store = "local"\nttl = 100\nuser = "from-file"\n')
    monkeypatch.setenv("RAGTUI_CONFIG", str(config))
    assert (load_settings().store, load_settings().ttl) == ("local", 100)
    monkeypatch.setenv("RAGTUI_TTL", "200")
    assert load_settings().ttl == 200
    assert load_settings({"ttl": 300, "user": None}).ttl == 300
    assert load_settings({"user": None}).user == "from-file"
    config.write_text('colour = "blue"\n')
    with pytest.raises(ConfigError, match="colour"):
        load_settings()
    config.write_text("ttl = \n")
    with pytest.raises(ConfigError, match=str(config)):
        load_settings()
    config.write_text("")
    monkeypatch.setenv("RAGTUI_TTL", "soon")
    with pytest.raises(ConfigError, match="whole number"):
        load_settings()


def test_every_session_id_can_be_given_on_the_command_line(monkeypatch, capsys):
    """A random id starting with '-' was taken for an option by argparse."""
    from ragtui.sessions import store as store_module

    monkeypatch.setattr(store_module.secrets, "token_urlsafe", lambda n: "-" + "a" * 21)
    sid = store_module.new_session_id()
    assert not sid.startswith("-")
    store = open_store("local")
    store.create_session("alice", "dash", session_id=sid)
    store.close()
    code, out, _ = run(capsys, "--store", "local", "--user", "alice", "sessions", "show", sid)
    assert code == 0 and "dash" in out
