"""The question queue without a screen: order, waiting for the model, what a run reports."""
from __future__ import annotations

from ragtui.tui import messages as msg
from ragtui.tui.answering import Answering, Question
from tests.tui.fakes import FakeChatService


def ready(store, service=None) -> Answering:
    answering = Answering("alice", store, service or FakeChatService(store, reply="Run it [1]."))
    answering.model_ready = True
    return answering


def test_questions_wait_for_the_model_then_go_one_at_a_time_in_order(memory_store):
    answering = Answering("alice", memory_store, FakeChatService(memory_store))
    answering.submit(Question("q1"))
    answering.submit(Question("q2"))
    assert answering.must_wait and answering.next() is None  # the model is not loaded yet
    answering.model_ready = True
    first = answering.next()
    assert first.text == "q1" and answering.generating and answering.must_wait
    assert answering.next() is None  # one at a time
    answering.done()
    assert answering.next().text == "q2" and answering.last_question == "q2"
    answering.done()
    assert answering.next() is None and not answering.generating


def test_a_run_reports_its_session_streams_and_finishes(memory_store):
    answering = ready(memory_store)
    answering.submit(Question("how do I start it?"))
    question = answering.next()
    posted, saved = [], []
    answering.run(question.text, None, post=posted.append, on_saved=lambda m: saved.append(m.id))
    started, status, finished = posted
    assert isinstance(started, msg.AnswerStarted) and started.question == "how do I start it?"
    assert isinstance(status, msg.AnswerStatus) and status.status == "writing…"  # tokens came: not "thinking…"
    assert isinstance(finished, msg.AnswerFinished) and finished.answer.text == "Run it [1]."
    assert answering.take_tokens() == "Run it [1]." and answering.take_tokens() == ""
    stored = memory_store.get_conversation_history(started.session_id)
    assert [m.id for m in stored] == saved and memory_store.get_session(started.session_id).user_id == "alice"


def test_a_question_in_an_expired_session_says_so_and_starts_a_new_one(memory_store):
    answering = ready(memory_store)
    gone = memory_store.create_session("alice")
    memory_store.clear_session(gone)
    posted = []
    answering.run("still there?", gone, post=posted.append)
    assert isinstance(posted[0], msg.SessionExpired) and posted[0].old_session_id == gone
    assert isinstance(posted[1], msg.AnswerStarted) and posted[1].session_id != gone
    assert isinstance(posted[-1], msg.AnswerFinished)


def test_stop_reaches_the_service_and_failures_are_reported_not_raised(memory_store):
    service = FakeChatService(memory_store, reply="one two three")
    answering = ready(memory_store, service)
    answering.submit(Question("long"))
    answering.next()
    answering.stop()
    posted = []
    answering.run("long", None, post=posted.append)
    assert posted[-1].answer.stopped and posted[-1].answer.text == ""
    answering.done()
    answering.submit(Question("next"))
    assert answering.next().text == "next"  # a new question is not stopped by the old stop
    answering.run("next", None, post=posted.append)
    assert not posted[-1].answer.stopped

    service.fail_with = RuntimeError("the model broke")
    posted.clear()
    answering.run("again", None, post=posted.append)
    assert isinstance(posted[-1], msg.AnswerFailed) and posted[-1].error == "the model broke"


def test_a_run_records_the_model_that_answered_in_new_and_old_sessions(memory_store):
    service = FakeChatService(memory_store)
    answering = ready(memory_store, service)
    posted = []
    answering.run("first", None, post=posted.append)
    new = posted[0].session_id
    assert memory_store.get_session(new).model == "fake-model"  # named at creation

    old = memory_store.create_session("alice", "made before ragtui kept the model")
    answering.run("again", old, post=posted.append)
    assert memory_store.get_session(old).model == "fake-model"  # named by its first answer

    service.model_info = {**service.model_info, "name": "bigger-model"}  # restarted with another model
    answering.run("and now?", new, post=posted.append)
    assert memory_store.get_session(new).model == "bigger-model"  # the latest answer's

    service.fail_with = RuntimeError("the model broke")
    answering.run("broken", old, post=posted.append)
    assert memory_store.get_session(old).model == "fake-model"  # no answer: no model recorded
