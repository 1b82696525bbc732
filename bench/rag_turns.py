"""Two turns of one session through ChatService: how many prompt tokens turn 2 evaluates
(the KV cache holds the prefix the two prompts share: the system prompt, and past turns as
they are rendered from turn 2 on: their questions, for the tiny default model), and what a
follow-up question retrieves with and without the previous question in its search query.

    .venv/bin/python bench/rag_turns.py
"""
from __future__ import annotations

import json
import os
import tempfile

from ragtui.config import load_settings
from ragtui.rag.chat import ChatService
from ragtui.rag.prompt import Turn, retrieval_query
from ragtui.sessions import open_store

FIRST = "How long can a session stay idle before it expires?"
FOLLOW_UP = "Can I stop that from happening?"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"data_dir": tmp, "store": "memory", "threads": os.cpu_count(), "max_tokens": 64})
        store = open_store("memory")
        service = ChatService(store, settings)
        service.load(progress=print)  # indexes the user guide on first run
        session_id = store.create_session("bench")
        first = service.ask(session_id, FIRST)
        second = service.ask(session_id, FOLLOW_UP)
        cached = second.prompt_tokens - second.evaluated_prompt_tokens

        retriever = service._retriever
        plain = retriever.search(FOLLOW_UP, k=3, mode=settings.search_mode)
        expanded_query = retrieval_query(FOLLOW_UP, [Turn(FIRST, (), first.text)])
        expanded = retriever.search(expanded_query, k=3, mode=settings.search_mode)
        print(json.dumps({
            "model": service.model_info["name"], "n_ctx": service.model_info["n_ctx"],
            "turn1": {"prompt_tokens": first.prompt_tokens, "evaluated": first.evaluated_prompt_tokens,
                      "completion_tokens": first.completion_tokens, "ttft_ms": round(first.ttft_ms)},
            "turn2": {"prompt_tokens": second.prompt_tokens, "evaluated": second.evaluated_prompt_tokens,
                      "cached": cached, "history_turns": second.history_turns,
                      "ttft_ms": round(second.ttft_ms), "retrieval_query": second.retrieval_query},
            "follow_up_search": {
                "query_alone": [f"{h.title} ({h.similarity:.2f})" for h in plain],
                "query_with_previous_question": [f"{h.title} ({h.similarity:.2f})" for h in expanded],
            },
            "answers": [first.text, second.text],
        }, indent=2))


if __name__ == "__main__":
    main()
