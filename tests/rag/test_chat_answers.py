"""What a user sees of an answer: a regenerated one is new, a question on something the
documents never name is declined, with the real embedder, index and model."""
from __future__ import annotations

import pytest

from ragtui.rag.chat import SAME_AGAIN, _Unlike, _unusable, answers_to_repeat
from ragtui.rag.decline import names, unknown_name, without
from ragtui.rag.retriever import open_index
from ragtui.sessions import open_store

from .conftest import QUESTION


@pytest.fixture
def service(chat_service):
    return chat_service(max_tokens=32)


def test_regenerate_writes_a_new_answer_and_the_first_stays_the_same(service):
    """QA Q23: ctrl+r (the question asked again right after itself) gave the very same answer."""
    store = service.store
    first_session, second_session = store.create_session("tester"), store.create_session("tester")
    first = service.ask(first_session, QUESTION)
    assert service.ask(second_session, QUESTION).text == first.text  # greedy: the same every time

    pieces = []
    again = service.ask(first_session, QUESTION, on_token=pieces.append)
    assert "".join(pieces) == again.text  # a sample that came out the same again is never streamed
    assert again.text != first.text and again.history_turns == 0
    stored = [m.content for m in store.get_conversation_history(first_session) if m.role == "assistant"]
    assert stored == [first.text, again.text]


def test_the_answers_a_repeated_question_already_got_are_found():
    store = open_store("memory")
    try:
        sid = store.create_session("tester")
        for question, answer in [("a?", "A1"), ("b?", "B1"), ("b?", "B2"), ("b?", "B3")]:
            store.add_message(sid, "user", question)
            store.add_message(sid, "assistant", answer)
        messages = store.get_conversation_history(sid)
        assert answers_to_repeat(messages, "b?") == ["B3", "B2", "B1"]
        assert answers_to_repeat(messages, "a?") == [] and answers_to_repeat([], "a?") == []
    finally:
        store.close()


def test_a_sample_is_held_back_until_it_differs_from_the_earlier_answers():
    shown = []
    out = _Unlike(["Port 7341.", "Port 7341 by default."], shown.append)
    for piece in ["Port", " 7341", " is", " the default."]:
        out(piece)
    assert shown == ["Port 7341 is", " the default."]
    same = _Unlike(["Port 7341."], shown.append)
    same("Port 7341.")
    assert shown[2:] == []  # held: the caller draws another sample
    same(SAME_AGAIN)  # or says so, after the last try
    assert shown[2:] == ["Port 7341." + SAME_AGAIN]


@pytest.mark.parametrize("question, found", [
    ("How do I store sessions in PostgreSQL?", ["PostgreSQL"]),
    ("Can ragtui run on Kubernetes with MongoDB?", ["Kubernetes", "MongoDB"]),
    ("PostgreSQL: can sessions go there?", ["PostgreSQL"]),  # a capital inside the word
    ("Where is the data directory on Kubuntu? And on macOS?", ["Kubuntu", "macOS"]),
    ("What does the global statement do?", []),
    ("Which port does Quokka use? Quokka!", ["Quokka"]),
    # The asker's own things and file names are no topic (QA's false-decline probes).
    ("How do I resume yesterday's chat on my Laptop? In French", ["French"]),
    ("How do I index my Obsidian vault or our MacBook notes?", []),
    ("How do I count words in Thesis.txt with WordCount?", ["WordCount"]),
])
def test_names_have_a_capital_inside_or_past_a_sentence_start(question, found):
    assert list(names(question)) == found


def test_the_rest_of_a_question_is_asked_without_the_name():
    """'…on Ubuntu' lost the tail -f line from the evidence (QA Q44): it is searched without."""
    assert without("How do I follow a log file on Ubuntu?", "Ubuntu") == "How do I follow a log file ?"
    assert without("Which PostgreSQL version do I need?", "PostgreSQL") == "Which version do I need?"


def test_the_index_knows_its_words_and_their_typos_but_not_other_names(library, embedder):
    data_dir, _ = library
    index = open_index(data_dir).open()
    assert index.mentions("Quokka") and index.mentions("QUOKKA_PORT") and index.mentions("teapots")
    assert index.mentions("Quoka") and index.mentions("Teapotts")  # a typo is not a decline
    assert not index.mentions("PostgreSQL") and not index.mentions("Kubernetes")
    assert unknown_name("Does the Quokka protocol run over PostgreSQL?", index.mentions) == "PostgreSQL"
    assert unknown_name("Does the Quokka protocol listen on a Port?", index.mentions) is None


def test_a_question_on_a_name_the_documents_never_mention_is_declined_with_the_evidence(service):
    """QA Q33: 'How do I store sessions in PostgreSQL?' on the user guide got invented SQL."""
    session_id = service.store.create_session("tester")
    pieces = []
    answer = service.ask(session_id, "How do I send Quokka messages through PostgreSQL?", on_token=pieces.append)
    assert answer.text == "The indexed documents do not mention PostgreSQL. What they say closest to your question:"
    assert "".join(pieces) == answer.text and answer.completion_tokens == 0
    assert answer.evidence and "Quokka" in answer.evidence[0].text  # what the documents do say
    assert answer.sources and not any(s.cited for s in answer.sources)
    assert service.store.get_conversation_history(session_id)[-1].content == answer.text


@pytest.mark.parametrize("text, unusable", [
    ("1 hour.", True),
    ('"How do I extend the time to live of a session?"', True),  # QA Q24: the question said back
    ("You pin it in the browser. Here's how:", True),
    ("Press ctrl+t to extend the time to live of a session.", False),
    ("Sessions last one hour [1].", False),
])
def test_an_answer_that_says_nothing_is_told_apart(text, unusable):
    """Such an answer gets the best evidence sentence quoted after it."""
    assert _unusable(text, "How do I extend the time to live of a session?") is unusable
