"""The model that answered a session: recorded on every backend, kept through an outage's
replay, in `sessions show` and the export; sessions made before it was kept still work."""
from __future__ import annotations

import json

import pytest
import redis

from ragtui.cli import main
from ragtui.paths import store_dir
from ragtui.sessions import SessionNotFound
from ragtui.sessions import open_store as _open_store
from ragtui.sessions.export import export_session
from ragtui.sessions.keys import Keys
from tests.redis_server import RedisServer


@pytest.fixture
def open_store():
    opened = []

    def open_(*args, **kwargs):
        store = _open_store(*args, **kwargs)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def test_the_model_round_trips_on_every_backend(make_store, backend):
    store = make_store(backend)
    sid = store.create_session("alice", "pinning", model="SmolLM2-135M-Instruct")
    unknown = store.create_session("alice", "made before the first answer")
    assert store.get_session(sid).model == "SmolLM2-135M-Instruct"
    assert store.get_session(unknown).model == ""

    store.add_message(unknown, "user", "hi")
    store.set_session_model(unknown, "qwen2.5:7b")  # the first answer names it
    store.set_session_model(sid, "qwen2.5:7b")  # continued with another model: the latest is kept
    assert {s.id: s.model for s in store.get_all_active_sessions("alice")} == {sid: "qwen2.5:7b",
                                                                               unknown: "qwen2.5:7b"}
    assert store.get_session(unknown).message_count == 1  # nothing else changed
    if backend != "memory":  # the others keep it for the next process
        assert make_store(backend).get_session(sid).model == "qwen2.5:7b"


def test_recording_the_same_model_again_changes_nothing(make_store, backend):
    store = make_store(backend)
    sid = store.create_session("alice", model="m1")
    before = store.user_version("alice")
    store.set_session_model(sid, "m1")  # every answer records it: the same model is no change
    assert store.user_version("alice") == before
    store.set_session_model(sid, "m2")
    assert store.user_version("alice") == before + 1  # a change other devices hear of


def test_a_gone_session_gets_no_model(make_store, backend):
    store = make_store(backend)
    sid = store.create_session("alice")
    store.clear_session(sid)
    with pytest.raises(SessionNotFound):
        store.set_session_model(sid, "m1")
    assert store.get_session(sid) is None


def test_the_model_survives_a_restart_and_compaction_of_the_local_journal(open_store, tmp_path):
    data = tmp_path / "data"
    store = open_store("local", data_dir=data)
    sid = store.create_session("alice", model="m1")
    store.set_session_model(sid, "m2")
    store.close()
    assert open_store("local", data_dir=data).get_session(sid).model == "m2"  # replayed record by record
    store = open_store("local", data_dir=data)
    store.journal.compact()
    store.close()
    assert open_store("local", data_dir=data).get_session(sid).model == "m2"  # from a restore record


def test_a_journal_written_before_the_model_was_kept_still_loads_and_exports(open_store, tmp_path):
    data = tmp_path / "data"
    store = open_store("local", data_dir=data)
    sid = store.create_session("alice", "old chat", model="m1")
    store.add_message(sid, "user", "hello")
    store.close()
    journal = store_dir(data) / "sessions.journal"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    for record in records:
        record.pop("model", None)  # as an older ragtui wrote its create records
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))

    store = open_store("local", data_dir=data)
    session = store.get_session(sid)
    assert session.model == "" and session.title == "old chat"
    exported = json.loads(export_session(session, store.get_conversation_history(sid), "json"))
    assert exported["session"]["model"] == "" and exported["messages"][0]["content"] == "hello"
    store.set_session_model(sid, "m2")  # its next answer names the model
    assert store.get_session(sid).model == "m2"


# --------------------------------------------------------------- an outage
@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    yield server
    server.stop()


def test_models_recorded_while_redis_is_down_reach_it_on_replay(open_store, own_redis, tmp_path):
    data = tmp_path / "data"
    store = open_store(own_redis.url, data_dir=data)
    before = store.create_session("alice", "before the outage", model="m1")
    store.add_message(before, "user", "hello")
    own_redis.kill()

    offline = store.create_session("alice", "made offline", model="m2")
    store.add_message(offline, "user", "still there?")
    store.add_message(before, "assistant", "an answer by another model")
    store.set_session_model(before, "m3")
    assert store.get_session(before).model == "m3" and store.get_session(offline).model == "m2"  # as shown now
    store.close()

    own_redis.start()
    open_store(own_redis.url, data_dir=data)  # replays on open
    direct = open_store(own_redis.url, data_dir=tmp_path / "other")
    assert direct.get_session(before).model == "m3" and direct.get_session(offline).model == "m2"
    assert direct.get_session(before).message_count == 2


# ------------------------------------------------------ show and export
@pytest.fixture
def answered(redis_url, open_store):
    store = open_store(redis_url)
    sid = store.create_session("alice", "About pinning", model="SmolLM2-135M-Instruct")
    store.add_message(sid, "user", "How do I pin?")
    store.add_message(sid, "assistant", "Press p [1].", [{"n": 1, "source": "guide.md"}])
    return store, sid


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_sessions_show_and_export_name_the_model(capsys, redis_url, answered):
    _, sid = answered
    code, out = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "show", sid)
    assert code == 0 and out.splitlines()[0].endswith(", model SmolLM2-135M-Instruct")
    code, out = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "show", sid, "--json")
    assert json.loads(out)["session"]["model"] == "SmolLM2-135M-Instruct"
    code, out = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "export", sid, "--format", "json")
    assert code == 0 and json.loads(out)["session"]["model"] == "SmolLM2-135M-Instruct"
    code, out = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "export", sid, "--format", "md")
    assert code == 0 and "Model: SmolLM2-135M-Instruct." in out


def test_a_session_whose_hash_has_no_model_field_shows_and_exports(capsys, redis_url, answered):
    store, sid = answered
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    raw.hdel(Keys().meta("alice", sid), "model")  # as sessions written before the field existed
    assert store.get_session(sid).model == ""
    code, out = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "show", sid)
    assert code == 0 and "model" not in out.splitlines()[0]
    code, out = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "export", sid, "--format", "json")
    exported = json.loads(out)
    assert exported["session"]["model"] == "" and len(exported["messages"]) == 2
    code, out = run(capsys, "--store", redis_url, "--user", "alice", "sessions", "export", sid, "--format", "md")
    assert code == 0 and "Model:" not in out and "Press p [1]." in out
