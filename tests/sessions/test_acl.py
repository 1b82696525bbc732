"""Per-user isolation enforced by Redis itself: alice and bob are Redis ACL users made from
`ragtui sessions acl USER`, on a real server. Alice can chat, list, search and export her
own sessions; bob's keys, SCAN and the admin listing get NOPERM, which ragtui reports as one
clear line (exit 2), never as a corrupt session or an outage."""
from __future__ import annotations

import json

import pytest
import redis

from ragtui.cli import main
from ragtui.config import load_settings
from ragtui.sessions import AccessDenied, StoreError, open_store_from_settings
from ragtui.sessions.keys import Keys
from tests.redis_server import RedisServer

ADMIN_PASSWORD = "acl-admin-Pw-31c"
PASSWORDS = {"alice": "alice-Pw-8e2d", "bob": "bob-Pw-47aa"}


@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("acl-redis"), password=ADMIN_PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def users(acl_redis, tmp_path, capsys):
    """An empty server with alice and bob created from the lines `ragtui sessions acl` prints."""
    admin = redis.Redis.from_url(acl_redis.url, decode_responses=True)
    admin.flushall()
    for user, password in PASSWORDS.items():
        secret = tmp_path / f"{user}.password"
        secret.write_text(password + "\n")
        assert main(["sessions", "acl", user, "--password-file", str(secret)]) == 0
        line = capsys.readouterr().out.strip()
        assert line.startswith(f"ACL SETUSER {user} on #") and password not in line
        assert admin.execute_command(*line.split()) == "OK"
    yield admin
    for user in PASSWORDS:
        admin.acl_deluser(user)
    admin.close()


def url_of(acl_redis, user: str) -> str:
    return f"redis://{user}:{PASSWORDS[user]}@127.0.0.1:{acl_redis.port}/0"


def as_user(acl_redis, user: str, tmp_path):
    settings = load_settings({"store": url_of(acl_redis, user), "user": user, "data_dir": tmp_path / user})
    return open_store_from_settings(settings)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_alice_works_with_her_own_sessions_under_her_acl(users, acl_redis, tmp_path, capsys):
    alice = as_user(acl_redis, "alice", tmp_path)
    sid = alice.create_session("alice")  # a chat: question, answer, title from the question
    alice.add_message(sid, "user", "what is a hash tag?")
    alice.add_message(sid, "assistant", "It keeps one user's keys in one slot [1].", ({"n": 1, "source": "a.md"},))
    alice.pin_session(sid)
    alice.unpin_session(sid)
    alice.extend_session(sid)
    alice.rename_session(sid, "hash tags")
    assert [s.id for s in alice.get_all_active_sessions("alice")] == [sid]
    assert [s.id for s in alice.search_sessions("alice", "one slot")] == [sid]
    assert alice.get_session_stats().sessions == 1
    alice.close()

    flags = ["--store", url_of(acl_redis, "alice"), "--user", "alice"]
    code, out, err = run(capsys, *flags, "sessions", "list", "--json")
    assert code == 0 and [s["id"] for s in json.loads(out)] == [sid], err
    code, out, _ = run(capsys, *flags, "sessions", "export", sid)
    assert code == 0 and "It keeps one user's keys in one slot" in out
    code, out, _ = run(capsys, *flags, "sessions", "list", "--search", "slot")
    assert code == 0 and sid in out
    code, out, err = run(capsys, *flags, "stats")
    assert code == 0 and "sessions  1" in out, err
    code, _, err = run(capsys, *flags, "sessions", "delete", sid)
    assert code == 0, err


def test_bobs_keys_scan_and_the_admin_listing_are_denied_in_one_line(users, acl_redis, tmp_path, capsys):
    bob = as_user(acl_redis, "bob", tmp_path)
    bobs = bob.create_session("bob", "bob's secret plans")
    bob.add_message(bobs, "user", "the plans")
    bob.close()

    raw = redis.Redis.from_url(url_of(acl_redis, "alice"), decode_responses=True)  # Redis itself says no
    keys = Keys()
    assert users.llen(keys.messages("bob", bobs)) == 1  # the names are right: the admin sees them
    for denied in (lambda: raw.scan(0), lambda: raw.keys("*"), lambda: raw.randomkey(),
                   lambda: raw.zrange(keys.all_sessions, 0, -1), lambda: raw.hgetall(keys.meta("bob", bobs)),
                   lambda: raw.lrange(keys.messages("bob", bobs), 0, -1)):
        with pytest.raises(redis.exceptions.NoPermissionError):
            denied()
    raw.close()

    alice = ["--store", url_of(acl_redis, "alice")]
    code, _, err = run(capsys, *alice, "--user", "alice", "sessions", "show", bobs)
    assert code == 2 and "no session" in err  # by id: not hers, so not found
    for argv in (["--user", "bob", "sessions", "list"], ["--user", "bob", "sessions", "show", bobs],
                 ["--user", "bob", "sessions", "export", bobs], ["--user", "alice", "sessions", "list", "--all"]):
        code, out, err = run(capsys, *alice, *argv)
        assert code == 2 and out == "", (argv, out, err)
        assert err.count("\n") == 1 and "permission denied" in err and "NOPERM" in err, (argv, err)
        assert "bob's secret plans" not in err and "corrupt" not in err.lower()


def test_an_acl_user_name_that_would_break_the_line_is_refused(capsys):
    for bad in ("bo b", "default", "", "x" * 200):
        code, out, err = run(capsys, "sessions", "acl", bad)
        assert code == 2 and out == "" and err.startswith("ragtui: ")


async def test_the_admin_panel_refuses_clearly_without_the_rights(users, acl_redis, tmp_path):
    from tests.tui.conftest import make_app, screen_text, until

    settings = load_settings({"store": url_of(acl_redis, "alice"), "user": "alice", "data_dir": tmp_path / "a"})
    store = open_store_from_settings(settings, admin=True)  # what `ragtui --admin` opens
    app = make_app(settings, store, admin=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "permission denied" in screen_text(app), what="the refusal")
        text = screen_text(app)
    assert PASSWORDS["alice"] not in text and "Traceback" not in text


async def test_alice_chats_in_the_app_and_sees_her_other_device_under_her_acl(users, acl_redis, tmp_path):
    from tests.tui.conftest import make_app, screen_text, until

    settings = load_settings({"store": url_of(acl_redis, "alice"), "user": "alice", "data_dir": tmp_path / "a"})
    app = make_app(settings, open_store_from_settings(settings))
    phone = as_user(acl_redis, "alice", tmp_path / "phone")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*"hello", "enter")  # a chat: the question and the answer saved under her ACL
        await until(pilot, lambda: "Run make run" in screen_text(app), what="the answer")
        channel = Keys().events("alice")  # live sync listens on her channel, which her ACL allows
        await until(pilot, lambda: users.pubsub_numsub(channel)[0][1] >= 1, what="the subscription")
        phone.create_session("alice", "asked on the phone")  # … and brings the other device's session
        await until(pilot, lambda: "asked on the phone" in screen_text(app), what="the other device's session")
        assert "permission denied" not in screen_text(app)
    phone.close()
    assert [s.title for s in as_user(acl_redis, "alice", tmp_path / "check").get_all_active_sessions("alice")] \
        == ["asked on the phone", "hello"]


def test_an_acl_without_what_the_scripts_need_is_permission_denied_not_corruption(users, acl_redis, tmp_path, capsys):
    line = main(["sessions", "acl", "alice"]) or capsys.readouterr().out.split()
    users.execute_command(*[rule for rule in line if rule != "+@pubsub"])  # an operator's own, stricter ACL
    alice = as_user(acl_redis, "alice", tmp_path)
    with pytest.raises(AccessDenied, match=r"permission denied \(NOPERM .*can't run this command"):
        alice.create_session("alice", "no publish allowed")  # its script publishes the change
    alice.close()


def test_under_her_acl_alice_cannot_create_a_session_under_bobs_id(users, acl_redis, tmp_path):
    bob = as_user(acl_redis, "bob", tmp_path)
    bobs = bob.create_session("bob", "bob's")
    assert bob.create_session("bob", session_id=bobs) == bobs  # his own again: fine, though he cannot read the owners
    alice = as_user(acl_redis, "alice", tmp_path)
    with pytest.raises(StoreError, match="taken by another user"):
        alice.create_session("alice", "alice's", session_id=bobs)
    assert users.hget(Keys().owners, bobs) == "bob" and not users.keys("*{u:alice}*")
    bob.close()
    alice.close()


def test_a_create_cut_off_after_claiming_its_id_is_replayed_under_an_acl(users, acl_redis, tmp_path):
    alice = as_user(acl_redis, "alice", tmp_path)
    scripts, create = alice.primary._scripts, alice.primary._scripts["create"]

    def cut_off(**kwargs):  # the id is claimed in the owners hash, then the connection drops
        scripts["create"] = create
        raise redis.ConnectionError("connection lost")

    scripts["create"] = cut_off
    sid = alice.create_session("alice", "cut off")  # kept locally, acknowledged
    alice.add_message(sid, "user", "after the drop")
    assert users.hget(Keys().owners, sid) == "alice" and alice.degraded
    assert alice.sync(), alice.health  # her own claim, though she cannot read the owners hash
    assert [m.content for m in alice.get_conversation_history(sid)] == ["after the drop"]
    assert users.hget(Keys().meta("alice", sid), "title") == "cut off"
    alice.close()
