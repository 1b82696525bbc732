"""ChatService: one question in, a grounded and cited answer out, both kept in the session store.

retrieve → build the prompt with the history that fits → stream → persist. The CLI and the
TUI both call `ask`. Importing this module is cheap: torch, LanceDB and llama.cpp are
imported by `load()`, which the TUI runs in a worker.
"""
from __future__ import annotations

import dataclasses
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .prompt import NOTHING_FOUND, Passage, Turn, build_prompt, retrieval_query

HISTORY_MESSAGES = 40  # read from the store; the token budget then decides what fits
MIN_SIMILARITY = 0.25  # cosine below which a passage is not about the question (MiniLM)
CORPUS_DIR = Path(__file__).resolve().parents[2] / "data"  # the user guide, in the checkout

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    location: str
    text: str
    score: float
    cited: bool = False  # the answer refers to it as [n]


@dataclass
class Answer:
    session_id: str
    text: str
    sources: list[Citation]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retrieval_ms: float = 0.0
    ttft_ms: float = 0.0  # from the question to the first token, retrieval included
    tokens_per_s: float = 0.0
    stopped: bool = False
    evaluated_prompt_tokens: int = 0  # prompt tokens not found in the KV cache
    history_turns: int = 0
    retrieval_query: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "answer": self.text,
            "sources": [dataclasses.asdict(c) for c in self.sources],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "evaluated_prompt_tokens": self.evaluated_prompt_tokens,
            },
            "timings": {
                "retrieval_ms": round(self.retrieval_ms, 1),
                "ttft_ms": round(self.ttft_ms, 1),
                "tokens_per_s": round(self.tokens_per_s, 1),
            },
        }


_CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def cited_numbers(text: str, available: int) -> set[int]:
    """The passage numbers an answer refers to: [2], [1, 3], [1][2]; out-of-range ones ignored."""
    found = set()
    for group in _CITATION.findall(text):
        found.update(int(n) for n in re.split(r"\s*[,;]\s*", group))
    return {n for n in found if 1 <= n <= available}


def history_turns(messages: Sequence) -> list[Turn]:
    """Question/answer pairs, each with the passages its question was given (kept with the answer)."""
    turns = []
    for question, answer in zip(messages, messages[1:]):
        if question.role == "user" and answer.role == "assistant":
            passages = tuple(
                Passage(s["n"], s["source"], s["title"], s["location"], s["text"], s.get("score", 0.0))
                for s in answer.sources if {"n", "source", "title", "location", "text"} <= set(s)
            )
            turns.append(Turn(question.content, passages, answer.content))
    return turns


class ChatService:
    def __init__(self, store, settings, *, corpus_dir: Path | None = CORPUS_DIR):
        self.store = store
        self.settings = settings
        self.corpus_dir = corpus_dir
        self._lock = threading.Lock()
        self._retriever = None
        self._model = None

    # -- loading ----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._model is not None

    def load(self, progress: Progress | None = None) -> None:
        """Embedder, index (the user guide is indexed when the index is empty), model."""
        from .served import choose_model  # a local GGUF file, or a model on a server (llm_url)

        say = progress or (lambda _message: None)
        with self._lock:
            if self._model is not None:
                return
            choice = choose_model(self.settings)  # a bad model file or server fails now, not after indexing
            if self._retriever is None:
                self._retriever = self._load_retriever(say)
            say(f"loading the language model {choice.name}…")
            self._model = choice.load()
            say(f"ready: {choice.name}, context {self._model.n_ctx} tokens")

    def _load_retriever(self, say: Progress):
        from .embed import shared_embedder
        from .retriever import Retriever, open_index

        say("loading the embedding model…")
        embedder = shared_embedder(self.settings.threads)
        index = open_index(self.settings.data_dir)
        if index.chunk_count() == 0 and self.corpus_dir and self.corpus_dir.is_dir():
            from .ingest import Ingester

            def report(p):
                say(f"indexing the ragtui user guide: {p.files_done}/{p.files_total} files, "
                    f"{p.chunks} chunks ({p.chunks_per_s:.0f} chunks/s)")

            summary = Ingester(index, lambda: embedder).ingest([self.corpus_dir], progress=report)
            say(f"indexed the ragtui user guide: {summary.summary()}")
        retriever = Retriever(index.open(), embedder)
        retriever.search("warm up", k=1, mode=self.settings.search_mode)  # load index files now, not on the first question
        return retriever

    @property
    def model_info(self) -> dict[str, Any]:
        return self._model.info if self._model is not None else {}

    @property
    def index_info(self) -> dict[str, int]:
        if self._retriever is None:
            return {}
        index = self._retriever.index
        return {"documents": index.document_count(), "chunks": index.chunk_count()}

    # -- asking -----------------------------------------------------------------------

    def ask(
        self,
        session_id: str,
        question: str,
        *,
        on_token: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        use_history: bool = True,
        on_saved: Callable[[Any], None] | None = None,
    ) -> Answer:
        """`on_saved(message)` hears each message as it is stored (the question, then the
        answer), so a UI can tell its own messages from other devices' by id."""
        self.load()
        saved = on_saved or (lambda _message: None)
        started = time.perf_counter()
        earlier = self.store.get_last_n_messages(session_id, HISTORY_MESSAGES) if use_history else []
        history = history_turns(earlier)
        saved(self.store.add_message(session_id, "user", question))  # kept even if generation fails

        query = retrieval_query(question, history)
        hits = self._retriever.search(query, k=self.settings.top_k, mode=self.settings.search_mode)
        passages = [
            Passage(n, h.source, h.title, h.location, h.text, h.score)
            for n, h in enumerate((h for h in hits if h.similarity >= MIN_SIMILARITY), start=1)
        ]
        retrieval_ms = (time.perf_counter() - started) * 1000
        answer = Answer(session_id, "", [], retrieval_ms=retrieval_ms, retrieval_query=query)

        if not passages:  # say so rather than let the model improvise
            answer.text = NOTHING_FOUND
            answer.ttft_ms = (time.perf_counter() - started) * 1000
            if on_token:
                on_token(NOTHING_FOUND)
        else:
            self._generate(answer, question, passages, history, on_token, should_stop, started)
        saved(self.store.add_message(session_id, "assistant", answer.text,
                                     sources=[dataclasses.asdict(c) for c in answer.sources]))
        return answer

    def _generate(self, answer, question, passages, history, on_token, should_stop, started) -> None:
        model = self._model
        max_tokens = min(self.settings.max_tokens, model.n_ctx // 2)
        prompt = build_prompt(
            question, passages, history, render=model.render, count_tokens=model.count_tokens,
            budget=model.n_ctx - max_tokens,
        )
        generating_at = time.perf_counter()
        generation = model.generate(prompt.text, max_tokens=max_tokens, on_token=on_token, should_stop=should_stop)
        cited = cited_numbers(generation.text, len(prompt.passages))
        answer.text = generation.text
        answer.sources = [Citation(p.n, p.source, p.title, p.location, p.text, p.score, p.n in cited)
                          for p in prompt.passages]
        answer.prompt_tokens = generation.prompt_tokens
        answer.evaluated_prompt_tokens = generation.evaluated_prompt_tokens
        answer.completion_tokens = generation.completion_tokens
        answer.tokens_per_s = generation.tokens_per_s
        answer.stopped = generation.stopped
        answer.history_turns = prompt.history_turns
        answer.ttft_ms = (generating_at - started) * 1000 + generation.ttft_ms
