"""An answer belongs to its question (QA Q37): two devices asking one session at once store
Q1 Q2 A1 A2 (or Q1 Q2 A2 A1); each answer names its question (`reply_to`), and everything
that reads the conversation back — a third device opening it, `sessions show`, both exports,
the next question's history — puts each answer right under its question."""
from __future__ import annotations

import json
import threading

import pytest

from ragtui.cli import main
from ragtui.config import load_settings
from ragtui.conversation import conversation_order
from ragtui.rag.chat import ChatService, history_turns
from ragtui.sessions.export import export_session
from ragtui.sessions.models import Message
from ragtui.tui import messages as msg

DEVICES = ("redis", "cluster", "local")  # backends two devices share


def said(id_, role, reply_to=None, content=None):
    return Message(id_, role, content or id_, 0.0, reply_to=reply_to)


def ids(messages):
    return [m.id for m in messages]


# ------------------------------------------------------------ the order itself
@pytest.mark.parametrize("stored, read", [
    (["q1", "q2", "a1", "a2"], ["q1", "a1", "q2", "a2"]),  # two devices, answered in turn
    (["q1", "q2", "a2", "a1"], ["q1", "a1", "q2", "a2"]),  # the second one answered first
    (["q1", "a1", "q2", "a2"], ["q1", "a1", "q2", "a2"]),  # one device: unchanged
    (["q1", "q2", "q3", "a3", "a1"], ["q1", "a1", "q2", "q3", "a3"]),  # q2 never answered
])
def test_each_answer_comes_right_after_its_question(stored, read):
    messages = [said(i, "user") if i[0] == "q" else said(i, "assistant", reply_to="q" + i[1:]) for i in stored]
    assert ids(conversation_order(messages)) == read


def test_messages_that_name_no_question_keep_their_place():
    """Stored before answers named their question, or an answer whose question was trimmed
    or lies outside the page read: arrival order."""
    old = [said("q1", "user"), said("q2", "user"), said("a1", "assistant"), said("a2", "assistant")]
    assert ids(conversation_order(old)) == ["q1", "q2", "a1", "a2"]
    page = [said("a0", "assistant", reply_to="trimmed"), said("q1", "user"), said("a1", "assistant", reply_to="q1")]
    assert ids(conversation_order(page)) == ["a0", "q1", "a1"]


def test_damaged_references_lose_and_repeat_nothing():
    """A reply naming a later message, itself, or one in a loop stays put; a repeated id
    places its replies once."""
    messages = [said("a", "assistant", reply_to="b"), said("b", "assistant", reply_to="a"),
                said("c", "assistant", reply_to="c"), said("q", "user"), said("q", "user"),
                said("r1", "assistant", reply_to="q"), said("r2", "assistant", reply_to="q")]
    assert ids(conversation_order(messages)) == ["a", "b", "c", "q", "r1", "r2", "q"]
    assert conversation_order([]) == []


def test_the_history_pairs_each_answer_with_the_question_it_names():
    stored = [said("q1", "user", content="What is the default TTL?"),
              said("q2", "user", content="How do I pin a session?"),
              said("a2", "assistant", reply_to="q2", content="Press p."),
              said("a1", "assistant", reply_to="q1", content="One hour.")]
    assert [(t.question, t.answer) for t in history_turns(stored)] == [
        ("What is the default TTL?", "One hour."), ("How do I pin a session?", "Press p.")]
    # the last messages read cut off q1: its answer is not paired with q2
    assert [(t.question, t.answer) for t in history_turns(stored[1:])] == [("How do I pin a session?", "Press p.")]


# ------------------------------------------------------- two devices, one session
def interleave(make_store, backend):
    """Two devices ask one session at once: stored Q1 Q2 A2 A1. (session id, the four ids)"""
    first, second = make_store(backend, user="alice"), make_store(backend, user="alice")
    sid = first.create_session("alice")
    q1 = first.add_message(sid, "user", "What is the default TTL?")
    q2 = second.add_message(sid, "user", "How do I pin a session?")
    a2 = second.add_message(sid, "assistant", "Press p on it.", [{"n": 1, "source": "sessions.md"}], reply_to=q2.id)
    a1 = first.add_message(sid, "assistant", "One hour.", reply_to=q1.id)
    return sid, (q1.id, a1.id, q2.id, a2.id)


@pytest.mark.parametrize("backend", DEVICES)
def test_a_third_device_reads_each_answer_under_its_question(make_store, backend):
    sid, (q1, a1, q2, a2) = interleave(make_store, backend)
    third = make_store(backend, user="alice")  # for local: a restart, replaying the journal
    stored = third.get_conversation_history(sid)
    assert ids(stored) == [q1, q2, a2, a1]  # arrival order is what the store keeps
    assert [m.reply_to for m in stored] == [None, None, q2, q1]
    assert ids(conversation_order(stored)) == [q1, a1, q2, a2]
    assert ids(msg.SessionLoaded(third.get_session(sid), stored, len(stored)).messages) == [q1, a1, q2, a2]
    assert ids(msg.EarlierLoaded(sid, stored, 0).messages) == [q1, a1, q2, a2]
    assert third.format_history_as_context(sid, 4).splitlines() == [
        "User: What is the default TTL?", "Assistant: One hour.",
        "User: How do I pin a session?", "Assistant: Press p on it."]


def test_exports_and_sessions_show_put_each_answer_under_its_question(make_store, redis_url, capsys):
    sid, (q1, a1, q2, a2) = interleave(make_store, "redis")
    store = make_store("redis", user="alice")
    session, stored = store.get_session(sid), store.get_conversation_history(sid)

    exported = json.loads(export_session(session, stored, "json"))["messages"]
    assert [(m["id"], m["reply_to"]) for m in exported] == [(q1, None), (a1, q1), (q2, None), (a2, q2)]
    markdown = export_session(session, stored, "md")
    assert (markdown.index("What is the default TTL?") < markdown.index("One hour.")
            < markdown.index("How do I pin a session?") < markdown.index("Press p on it."))

    assert main(["--store", redis_url, "--user", "alice", "sessions", "show", sid, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["messages"]
    assert [(m["id"], m["reply_to"]) for m in shown] == [(q1, None), (a1, q1), (q2, None), (a2, q2)]
    assert main(["--store", redis_url, "--user", "alice", "sessions", "show", sid]) == 0
    text = capsys.readouterr().out
    assert (text.index("What is the default TTL?") < text.index("One hour.")
            < text.index("How do I pin a session?") < text.index("Press p on it."))


class NothingRelevant:
    """A retriever that finds nothing (no model needed), holding each search until `go`."""

    embedder = None

    def __init__(self, go: threading.Event):
        self.go = go

    def search(self, query, k, mode):
        assert self.go.wait(30), "the other device never got that far"
        return []


@pytest.mark.parametrize("backend", ("redis", "local"))
def test_two_apps_asking_at_once_each_store_the_id_of_their_question(make_store, backend):
    """ChatService on two devices: both questions are stored before either answer, and the
    second device's answer is stored first. Each answer names its own question."""
    settings = load_settings({"store": "memory"})
    first_asked, second_answered = threading.Event(), threading.Event()
    stores = [make_store(backend, user="alice"), make_store(backend, user="alice")]
    sid = stores[0].create_session("alice")
    first, second = (ChatService(store, settings, corpus_dir=None) for store in stores)
    first._retriever, first._model = NothingRelevant(second_answered), object()
    second._retriever, second._model = NothingRelevant(threading.Event()), object()
    second._retriever.go.set()
    answers = {}

    def ask_first():
        answers["first"] = first.ask(sid, "What is the default TTL?",
                                     on_saved=lambda m: m.role == "user" and first_asked.set())

    device = threading.Thread(target=ask_first)
    device.start()
    assert first_asked.wait(30)
    answers["second"] = second.ask(sid, "How do I pin a session?")
    second_answered.set()
    device.join(30)
    one, two = answers["first"], answers["second"]

    stored = make_store(backend, user="alice").get_conversation_history(sid)
    assert ids(stored) == [one.question_id, two.question_id, two.answer_id, one.answer_id]
    assert [m.reply_to for m in stored] == [None, None, two.question_id, one.question_id]
    assert ids(conversation_order(stored)) == [one.question_id, one.answer_id, two.question_id, two.answer_id]


def test_a_message_stored_before_reply_to_existed_still_loads(make_store, redis_url):
    """Messages stored by an earlier release carry no `reply_to`: they load with None."""
    import redis

    store = make_store("redis", user="alice")
    sid = store.create_session("alice")
    old = {"id": "0000000000a-00000000", "role": "assistant", "content": "old answer", "timestamp": 1.0, "sources": []}
    with redis.Redis.from_url(redis_url) as client:
        client.rpush(store.keys.messages("alice", sid), json.dumps(old))
    (loaded,) = store.get_conversation_history(sid)
    assert loaded.reply_to is None and loaded.to_dict()["reply_to"] is None


async def test_the_app_opens_such_a_session_with_each_answer_under_its_question(make_store, private_data_dir):
    from ragtui.config import Settings
    from ragtui.tui.widgets.chat_messages import AssistantMessage, UserMessage
    from tests.tui.conftest import make_app, until
    from tests.tui.test_browser import focus_list

    sid, _ = interleave(make_store, "local")
    store = make_store("local", user="alice")
    settings = Settings(user="alice", ttl=3600, data_dir=private_data_dir, theme="textual-dark")
    app = make_app(settings, store)
    async with app.run_test(size=(140, 40)) as pilot:
        await focus_list(pilot, app)
        await pilot.press("enter")
        transcript = lambda: [w.text for w in app.query("UserMessage, AssistantMessage")
                              if isinstance(w, (UserMessage, AssistantMessage))]
        await until(pilot, lambda: len(transcript()) == 4, what="the session's messages")
        assert transcript() == ["What is the default TTL?", "One hour.", "How do I pin a session?", "Press p on it."]
        app.screen.sync.answer_ended()  # live sync reads the tail: nothing is new, nothing shown twice
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(transcript()) == 4


def test_reply_to_survives_journal_compaction(make_store):
    local = make_store("local", user="alice")
    sid = local.create_session("alice")
    asked = local.add_message(sid, "user", "What is the default TTL?")
    local.add_message(sid, "assistant", "One hour.", reply_to=asked.id)
    local.journal.compact()
    reopened = make_store("local", user="alice")
    assert [m.reply_to for m in reopened.get_conversation_history(sid)] == [None, asked.id]


def test_reply_to_survives_the_outbox_and_its_replay_into_redis(tmp_path):
    from ragtui.sessions import open_store
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    stores = []
    try:
        phone = open_store("auto", redis_url=server.url, data_dir=tmp_path / "phone", user="alice")
        stores.append(phone)
        sid = phone.create_session("alice")
        server.kill()
        asked = phone.add_message(sid, "user", "What is the default TTL?")  # both saved locally
        answered = phone.add_message(sid, "assistant", "One hour.", reply_to=asked.id)
        assert [m.reply_to for m in phone.get_conversation_history(sid)] == [None, asked.id]
        server.start()
        assert phone.sync()
        direct = open_store(server.url, data_dir=tmp_path / "desk", user="alice")
        stores.append(direct)
        assert [(m.id, m.reply_to) for m in direct.get_conversation_history(sid)] == [
            (asked.id, None), (answered.id, asked.id)]
    finally:
        for store in stores:
            store.close()
        server.stop()


async def test_the_admins_read_only_view_shows_each_answer_under_its_question(make_store, private_data_dir):
    from ragtui.config import Settings
    from ragtui.tui.screens.session_view import SessionViewScreen
    from ragtui.tui.widgets.chat_messages import AssistantMessage, UserMessage
    from tests.tui.conftest import make_app, until

    sid, _ = interleave(make_store, "local")
    admin = make_store("local")
    app = make_app(Settings(user="carol", ttl=3600, data_dir=private_data_dir, theme="textual-dark"), admin, admin=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await app.push_screen(SessionViewScreen(admin.get_session(sid), admin))
        shown = lambda: [w.text for w in app.screen.query("UserMessage, AssistantMessage")
                         if isinstance(w, (UserMessage, AssistantMessage))]
        await until(pilot, lambda: len(shown()) == 4, what="the read-only history")
        assert shown() == ["What is the default TTL?", "One hour.", "How do I pin a session?", "Press p on it."]
