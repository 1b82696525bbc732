"""Ingest → search → ask → session, with the real embedder and the real model (loaded once)."""
from __future__ import annotations

import json

import pytest

from ragtui import cli, paths
from ragtui.rag.prompt import NOTHING_FOUND
from ragtui.rag.retriever import Retriever, open_index
from ragtui.sessions import open_store
from ragtui.source import Source, ranked_evidence

from .conftest import QUESTION, TEST_CONTEXT

@pytest.fixture
def service(chat_service):
    chat = chat_service(max_tokens=48)
    assert chat.model_info["n_ctx"] == TEST_CONTEXT
    return chat


@pytest.mark.parametrize("mode", ["hybrid", "vector", "fts"])
def test_search_finds_the_file_that_answers(library, embedder, mode):
    data_dir, docs = library
    hits = Retriever(open_index(data_dir), embedder).search(QUESTION, k=3, mode=mode)
    assert hits[0].source == str(docs / "quokka.md")
    assert hits[0].title == "The Quokka protocol"
    assert "7341" in hits[0].text


def test_ask_streams_a_grounded_answer_and_the_session_keeps_both_messages(service, library):
    _, docs = library
    store = service.store
    session_id = store.create_session("tester")
    pieces, statuses = [], []
    answer = service.ask(session_id, QUESTION, on_token=pieces.append, on_status=statuses.append)

    assert pieces and "".join(pieces) == answer.text  # streamed (a tiny model's, a sentence at a time)
    assert "7341" in answer.text
    assert answer.sources[0].source == str(docs / "quokka.md")
    assert answer.completion_tokens > 3 and answer.prompt_tokens > 50
    assert statuses[:3] == ["searching the documents…", f"reading {len(answer.sources)} passage"
                            f"{'s' if len(answer.sources) > 1 else ''}…", "writing…"]
    # The evidence is quoted from the passage, not generated, and is stored with the answer.
    assert answer.evidence[0].n == 1 and "7341" in answer.evidence[0].text
    assert answer.evidence[0].text in answer.sources[0].text
    assert "Question:" not in answer.text and "[4]" not in answer.text

    user, assistant = store.get_conversation_history(session_id)
    assert (user.role, user.content) == ("user", QUESTION)
    assert (assistant.role, assistant.content) == ("assistant", answer.text)
    assert assistant.sources[0]["source"] == str(docs / "quokka.md")
    assert assistant.sources[0]["n"] == 1 and "7341" in assistant.sources[0]["text"]
    assert Source.from_dicts(assistant.sources) == answer.sources  # one serialisation, read back whole
    assert ranked_evidence(answer.sources) == [(e.n, e.text) for e in answer.evidence]


def test_second_turn_sees_the_history_and_evaluates_only_new_tokens(service, library):
    _, docs = library
    session_id = service.store.create_session("tester")
    first = service.ask(session_id, QUESTION)
    follow_up = service.ask(session_id, "How do I change it?")

    assert follow_up.history_turns == 1
    assert follow_up.retrieval_query == f"{QUESTION} How do I change it?"  # "it" needs the context
    assert any("QUOKKA_PORT" in c.text for c in follow_up.sources)
    assert follow_up.evaluated_prompt_tokens < follow_up.prompt_tokens  # the system prompt was cached
    # Asked again (regenerate): the new answer replaces the old one in the model's context.
    again = service.ask(session_id, "How do I change it?")
    assert again.history_turns == 1
    assert len(service.store.get_conversation_history(session_id)) == 6


def test_without_history_a_follow_up_stands_alone(service):
    session_id = service.store.create_session("tester")
    service.ask(session_id, QUESTION)
    alone = service.ask(session_id, "How do I change it?", use_history=False)
    assert alone.history_turns == 0
    assert alone.retrieval_query == "How do I change it?"


def test_nothing_relevant_says_so_instead_of_inventing(service):
    session_id = service.store.create_session("tester")
    pieces = []
    answer = service.ask(session_id, "Who won the 1958 football world cup?", on_token=pieces.append)
    assert answer.text == NOTHING_FOUND == "".join(pieces)
    assert answer.sources == [] and answer.completion_tokens == 0
    assert service.store.get_conversation_history(session_id)[-1].content == NOTHING_FOUND


def test_stopping_mid_answer_keeps_what_was_generated(service):
    session_id = service.store.create_session("tester")
    pieces, asked_to_stop = [], []

    def stop_after_three_tokens():  # asked once per token
        asked_to_stop.append(True)
        return len(asked_to_stop) >= 3

    answer = service.ask(session_id, QUESTION, on_token=pieces.append, should_stop=stop_after_three_tokens)
    assert answer.stopped and 3 <= answer.completion_tokens < 48 and not answer.truncated
    saved = service.store.get_conversation_history(session_id)[-1]
    assert saved.content == answer.text == "".join(pieces)
    assert saved.sources  # a stopped answer still records what it was given


def test_cli_first_ask_indexes_the_user_guide_then_continues_the_session(monkeypatch, capsys, local_model, embedder):
    """`ragtui ask` on a fresh data dir: guide indexed with progress, answer JSON, session kept."""
    monkeypatch.setenv("RAGTUI_N_CTX", str(TEST_CONTEXT))  # the model the fixture loaded: no reload
    monkeypatch.setenv("RAGTUI_MAX_TOKENS", "40")
    assert cli.main(["--store", "local", "ask", "--json", "How long can a session stay idle before it expires?"]) == 0
    out, err = capsys.readouterr()
    assert "indexing the ragtui user guide" in err
    reply = json.loads(out)
    assert set(reply) == {"session_id", "question_id", "answer_id", "answer", "evidence", "truncated", "sources",
                          "usage", "timings"}
    assert reply["evidence"] and all(e["text"] and e["n"] >= 1 for e in reply["evidence"])
    assert reply["answer"] and reply["usage"]["completion_tokens"] > 0
    assert reply["timings"]["ttft_ms"] >= reply["timings"]["retrieval_ms"] > 0
    assert any(s["source"].endswith("data/sessions.md") for s in reply["sources"])
    assert paths.index_dir().is_dir()

    assert cli.main(["--store", "local", "ask", "--json", "--session", reply["session_id"], "Can I pin it?"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["session_id"] == reply["session_id"]
    store = open_store("local", data_dir=paths.data_dir())
    history = store.get_conversation_history(reply["session_id"])
    assert [m.role for m in history] == ["user", "assistant"] * 2
    assert [m.id for m in history] == [reply["question_id"], reply["answer_id"], second["question_id"], second["answer_id"]]
    assert Source.from_dicts(reply["sources"]) == Source.from_dicts(history[1].sources)  # one serialisation
    store.close()


def test_cli_unknown_session_is_a_one_line_error(capsys):
    assert cli.main(["--store", "memory", "ask", "--session", "nope", "hello"]) == 2
    assert "session nope not found" in capsys.readouterr().err


def test_a_file_that_is_not_gguf_is_named_with_what_to_do(tmp_path, capsys):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"<html>404 Not Found</html>")
    assert cli.main(["--store", "memory", "--model", str(bad), "ask", "hello"]) == 2
    err = capsys.readouterr().err
    assert f"model file {bad} is not a GGUF file" in err and "--model PATH" in err
    assert "Traceback" not in err


def test_a_truncated_gguf_is_reported_not_raised_raw(tmp_path):
    from ragtui.rag.llm import LocalModel
    from ragtui.rag.models import CorruptModel, ModelFile, default_model

    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(default_model().path.read_bytes()[:4096])
    model = LocalModel(ModelFile("truncated", truncated, "test", 4096), threads=1)
    with pytest.raises(CorruptModel, match=f"model file {truncated} could not be loaded"):
        model.load()


def test_an_unknown_model_name_lists_where_models_are_looked_for(capsys):
    assert cli.main(["--store", "memory", "--model", "no-such-model", "ask", "hello"]) == 2
    assert "model 'no-such-model' not found" in capsys.readouterr().err
