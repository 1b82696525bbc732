"""ChatService.ask tells the caller the ids the store gave the question and the answer."""
from __future__ import annotations

from ragtui.config import load_settings
from ragtui.rag.chat import ChatService
from ragtui.rag.prompt import NOTHING_FOUND
from ragtui.sessions import open_store


class NothingRelevant:
    """A retriever whose index holds nothing about any question: no model is needed."""

    embedder = None

    def search(self, query, k, mode):
        return []


def test_ask_returns_the_ids_of_the_messages_it_stored():
    store = open_store("memory")
    service = ChatService(store, load_settings({"store": "memory"}), corpus_dir=None)
    service._retriever, service._model = NothingRelevant(), object()  # "loaded": never called here
    heard = []
    try:
        sid = store.create_session("alice")
        answer = service.ask(sid, "What is the airspeed of a swallow?", on_saved=heard.append)
        question, reply = store.get_conversation_history(sid)
        assert answer.text == NOTHING_FOUND == reply.content
        assert (answer.question_id, answer.answer_id) == (question.id, reply.id) == (heard[0].id, heard[1].id)
        assert question.id != reply.id
        assert answer.to_dict()["question_id"] == question.id and answer.to_dict()["answer_id"] == reply.id
    finally:
        store.close()
