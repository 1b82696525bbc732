"""The Redis password is never printed: not by any command (stdout, stderr, exports), not in
a log file, not on the app's screen — with the password in the URL, from the environment,
from a file, and when it is wrong. Against a real redis-server started with --requirepass."""
from __future__ import annotations

import json
import logging

import pytest
import redis

from ragtui.cli import main, setup_logging
from ragtui.config import ConfigError, describe, load_settings
from ragtui.secrets import mask, remember
from ragtui.sessions import StoreUnavailable, open_store, open_store_from_settings
from tests.redis_server import RedisServer, free_port
from tests.tui.conftest import make_app, screen_text, until

PASSWORD = "Leak-Canary-5d1e9"  # distinctive: any hit is a leak, never a coincidence
WRONG = "Wrong-Canary-0b7a2"


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("locked-redis"), password=PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def url(locked_redis):
    """The server's URL with the password in it, emptied for each test."""
    if locked_redis.process.poll() is not None:
        locked_redis.start()
    client = redis.Redis.from_url(locked_redis.url)
    client.flushall()
    client.close()
    return locked_redis.url


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and WRONG not in text, text


# ------------------------------------------------------------------------------ mask()

@pytest.mark.parametrize("text, shown", [
    ("redis://alice:pw@h:6379/0", "redis://alice:***@h:6379/0"),
    ("redis://:p%40ss@h:6379/0", "redis://:***@h:6379/0"),
    ("rediss://:p@ss@h:6380/0?ssl_cert_reqs=none", "rediss://:***@h:6380/0?ssl_cert_reqs=none"),
    ("redis+sentinel://:pw@h1:26379,h2:26379/mymaster", "redis+sentinel://:***@h1:26379,h2:26379/mymaster"),
    ("unix:///run/redis.sock?db=0&password=pw", "unix:///run/redis.sock?db=0&password=***"),
    ("Redis at redis://u:pw@h/0 is unreachable", "Redis at redis://u:***@h/0 is unreachable"),
    ("redis://alice@h:6379/0", "redis://alice@h:6379/0"),  # a user name is not a secret
    ("http://localhost:8080/v1", "http://localhost:8080/v1"),
])
def test_mask_hides_the_password_of_every_url_form(text, shown):
    assert mask(text) == shown


def test_settings_never_show_the_password_even_in_their_repr(tmp_path):
    settings = load_settings({"store": f"redis://:{PASSWORD}@h:6379/0", "data_dir": tmp_path},
                             env={"RAGTUI_REDIS_PASSWORD": WRONG, "RAGTUI_REDIS_URL": f"redis://u:{PASSWORD}@h/0"})
    assert "store='redis://:***@h:6379/0'" in repr(settings) and "redis_password=" not in repr(settings)
    shown = describe(settings)
    assert shown["store"] == "redis://:***@h:6379/0" and shown["redis_password"] == "(set)"
    assert_no_secret(repr(settings), json.dumps(shown))


def test_mask_hides_a_password_known_from_the_environment_anywhere():
    remember("from-the-env-9c1f")
    assert mask("AUTH from-the-env-9c1f failed") == "AUTH *** failed"
    remember("abc")  # too short to hide inside words without garbling them
    assert mask("abc def") == "abc def"


# ------------------------------------------------------------- where the password comes from

def test_the_password_can_come_from_the_environment_or_a_file_not_the_url(url, locked_redis, tmp_path):
    bare = f"redis://127.0.0.1:{locked_redis.port}/0"
    settings = load_settings({"store": bare, "user": "alice", "data_dir": tmp_path / "a"}, env={"RAGTUI_REDIS_PASSWORD": PASSWORD})
    store = open_store_from_settings(settings)
    store.create_session("alice", "via env")
    assert describe(settings)["redis_password"] == "(set)" and PASSWORD not in repr(settings)
    store.close()

    secret_file = tmp_path / "redis.password"
    secret_file.write_text(PASSWORD + "\n")
    settings = load_settings({"store": bare, "user": "alice", "data_dir": tmp_path / "b"},
                             env={"RAGTUI_REDIS_PASSWORD_FILE": str(secret_file)})
    store = open_store_from_settings(settings)
    assert [s.title for s in store.get_all_active_sessions("alice")] == ["via env"]
    store.close()

    for target in ("auto", "redis"):  # and without one: asked for, in one line, no fallback
        with pytest.raises(StoreUnavailable, match="authentication failed \\(Redis wants a password\\)"):
            open_store(target, redis_url=bare, data_dir=tmp_path / "c")


def test_the_password_is_refused_in_the_config_file_and_a_bad_file_is_one_line(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(f'redis_password = "{PASSWORD}"\n')
    monkeypatch.setenv("RAGTUI_CONFIG", str(config))
    with pytest.raises(ConfigError, match="RAGTUI_REDIS_PASSWORD") as refused:
        load_settings()
    assert_no_secret(str(refused.value))
    config.write_text("")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for path, why in ((tmp_path / "missing", "No such file"), (empty, "is empty")):
        with pytest.raises(ConfigError, match=why):
            open_store_from_settings(load_settings(env={"RAGTUI_REDIS_PASSWORD_FILE": str(path)}))


def test_a_password_changed_while_running_is_named_and_nothing_is_lost(url, tmp_path):
    store = open_store(url, data_dir=tmp_path / "data")
    sid = store.create_session("alice", "rotation")
    admin = redis.Redis.from_url(url)
    admin.config_set("requirepass", WRONG)  # the operator rotates the password…
    admin.client_kill_filter(_type="normal", skipme=True)  # …and drops every other connection
    try:
        kept = store.add_message(sid, "user", "written after the rotation")  # acknowledged: kept here
        assert "authentication failed" in store.health and "unreachable" not in store.health
        assert_no_secret(store.health, store.describe())
    finally:
        admin.config_set("requirepass", PASSWORD)
        admin.close()
    assert store.sync() and store.health == "ok"
    assert [m.id for m in open_store(url, data_dir=tmp_path / "other").get_conversation_history(sid)] == [kept.id]
    store.close()


# --------------------------------------------------------------------- every command

def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_no_command_prints_the_password(url, locked_redis, tmp_path, capsys, monkeypatch):
    seeded = open_store(url, data_dir=tmp_path / "seed")
    sid = seeded.create_session("alice", "a chat")
    seeded.add_message(sid, "user", "hello")
    seeded.close()
    monkeypatch.setenv("RAGTUI_USER", "alice")
    exported = tmp_path / "export.json"
    commands = [
        ["sessions", "list"], ["sessions", "list", "--json"], ["sessions", "list", "--all"],
        ["sessions", "list", "--search", "hello"], ["sessions", "show", sid], ["sessions", "show", sid, "--json"],
        ["sessions", "export", sid], ["sessions", "export", sid, "--format", "json", "-o", str(exported)],
        ["sessions", "rename", sid, "renamed"], ["sessions", "pin", sid], ["sessions", "pin", sid, "--off"],
        ["sessions", "extend", sid], ["stats"], ["stats", "--json"], ["doctor"], ["doctor", "--json"],
        ["sessions", "show", "no-such-session"], ["sessions", "migrate"], ["sessions", "acl", "alice"],
        ["sessions", "delete", sid],
    ]
    said = []
    for argv in commands:  # the password in the URL, on the command line
        code, text = run(capsys, "--store", url, *argv)
        said.append(text)
        expected = (0, 1) if argv[0] == "doctor" else (2,) if "no-such-session" in argv else (0,)
        assert code in expected, (argv, text)
    assert "Redis ✓ redis://:***@127.0.0.1" in "".join(said)
    for argv in (["stats"], ["doctor", "--json"], ["sessions", "list"]):  # … in --redis-url, in the environment
        said.append(run(capsys, "--redis-url", url, *argv)[1])
    monkeypatch.setenv("RAGTUI_REDIS_URL", url)
    said.append(run(capsys, "stats", "--json")[1])
    assert json.loads(said[-1])["location"] == url.replace(PASSWORD, "***")
    said.append(exported.read_text())

    wrong = url.replace(PASSWORD, WRONG)  # a wrong password, in every mode: one line, and not shown
    for flags in (["--store", wrong], ["--redis-url", wrong], ["--store", "redis", "--redis-url", wrong]):
        code, text = run(capsys, *flags, "sessions", "list")
        assert code == 2 and "authentication failed" in text and text.count("\n") == 1
        said.append(text)
    said.append(run(capsys, "--store", wrong, "doctor", "--json")[1])

    down = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"  # unreachable: auto is degraded, and says so
    for argv in (["sessions", "list"], ["stats"], ["stats", "--json"], ["doctor", "--json"]):
        code, text = run(capsys, "--store", "auto", "--redis-url", down, *argv)
        said.append(text)
    assert "Redis is unreachable" in said[-1] and "redis://:***@127.0.0.1" in said[-1]
    assert_no_secret(*said)


def test_a_password_written_where_redis_cli_takes_it_is_not_echoed(locked_redis, capsys, monkeypatch):
    """redis-cli reads redis://WORD@host's WORD as the password; ragtui (like redis-py) reads
    it as a user name, so the login fails. WORD may be a password, then: neither the error,
    nor doctor, nor the settings it shows print it, and the error says where a password goes.
    With a password given elsewhere (RAGTUI_REDIS_PASSWORD) it is a user name: shown."""
    word = "UserOnly-Canary-3f8e1"  # nothing remembers it as a secret: only the URL rule can hide it
    bare = f"redis://{word}@127.0.0.1:{locked_redis.port}/0"
    said = []
    for argv in (["stats"], ["sessions", "list"], ["doctor"], ["doctor", "--json"]):
        code, text = run(capsys, "--store", bare, *argv)
        assert code in ((1,) if argv[0] == "doctor" else (2,)), text
        assert "authentication failed" in text and "redis://***@127.0.0.1" in text
        said.append(text)
    assert "for a password put a ':' before it" in said[0]
    assert not any(word in text for text in said), said
    monkeypatch.setenv("RAGTUI_REDIS_PASSWORD", WRONG)  # a user name, and its (wrong) password
    code, text = run(capsys, "--store", bare.replace(word, "alice"), "stats")
    assert code == 2 and "redis://alice@127.0.0.1" in text and "a ':' before it" not in text


def test_no_log_line_carries_the_password(url, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    setup_logging(full_screen=True)  # as the app logs: to a file under the state dir
    try:
        down = f"rediss://:{PASSWORD}@127.0.0.1:{free_port()}/0?ssl_cert_reqs=none"
        open_store("auto", redis_url=down, data_dir=tmp_path / "data").close()  # warns: degraded
        logging.getLogger("redis.connection").warning("a library saying %s", url)  # anything at all
        logging.getLogger("ragtui").error("failed", exc_info=RuntimeError(f"no luck with {url}"))
    finally:
        logging.shutdown()
        setup_logging(full_screen=False)
    logs = list((tmp_path / "state").rglob("*.log"))
    assert logs, "no log file was written"
    text = "".join(path.read_text() for path in logs)
    assert "a library saying redis://:***@" in text and "no luck with redis://:***@" in text
    assert_no_secret(text)


# --------------------------------------------------------------------------- the app

async def test_the_app_never_shows_the_password(url, locked_redis, tmp_path):
    settings = load_settings({"store": url, "user": "alice", "data_dir": tmp_path / "data"})
    store = open_store_from_settings(settings)
    store.add_message(store.create_session("alice", "earlier chat"), "user", "an earlier question")
    app = make_app(settings, store, admin=True)
    seen = []
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "earlier chat" in screen_text(app), what="the admin table")
        await pilot.press("x", "m")  # export it
        exports = settings.data_dir / "exports"
        await until(pilot, lambda: exports.exists() and any(exports.iterdir()), what="the export")
        seen += [screen_text(app), app.sub_title] + [p.read_text() for p in exports.iterdir()]
        await pilot.press("escape")  # the chat, the browser and the stats pane
        await until(pilot, lambda: "earlier chat" in screen_text(app), what="the browser")
        await pilot.press(*"hello", "enter")
        await until(pilot, lambda: "Run make run" in screen_text(app), what="the answer")
        seen += [screen_text(app), app.sub_title, app.screen.sub_title]
        assert "Redis ✓ redis://:***@127.0.0.1" in screen_text(app)  # the header
        assert "▏ redis://:***@127.0.0.1" in screen_text(app)  # the stats pane's "where", below its border

        locked_redis.kill()  # the degraded header, stats pane and status
        await pilot.press(*"while it is down", "enter")
        await until(pilot, lambda: "Redis ✗ degraded" in screen_text(app), what="the degraded header")
        await until(pilot, lambda: "? (Redis unreachable)" in screen_text(app), what="the stats pane")
        seen += [screen_text(app), app.sub_title, app.screen.sub_title]
    locked_redis.start()
    assert_no_secret(*seen)


async def test_the_app_stops_on_a_wrong_password_in_one_line_without_falling_back(url, tmp_path):
    from ragtui.tui.app import build_app

    settings = load_settings({"store": "auto", "redis_url": url.replace(PASSWORD, WRONG), "user": "alice",
                              "data_dir": tmp_path / "data"})
    app = build_app(settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.startup_error is not None, what="the refusal")
    assert app.return_code == 2 and "\n" not in app.startup_error
    assert "authentication failed" in app.startup_error and ":***@" in app.startup_error
    assert_no_secret(app.startup_error)
    assert not (tmp_path / "data" / "store" / "outbox.journal").exists()  # nothing went local


def test_a_password_on_the_command_line_leaves_what_ps_shows(tmp_path):
    import subprocess
    import sys

    shows_itself = ("import sys; from ragtui.secrets import hide_from_process_list; "
                    "hide_from_process_list(sys.argv); print(open('/proc/self/cmdline').read())")
    shown = subprocess.run([sys.executable, "-c", shows_itself, "--store", f"redis://:{PASSWORD}@h:6379/0", "stats"],
                           capture_output=True, text=True, check=True).stdout
    assert "--store redis://:***@h:6379/0 stats" in shown
    assert_no_secret(shown)
