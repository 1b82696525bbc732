"""A small ChatService with the documented interface: streams a fixed answer."""
from __future__ import annotations

import threading
import time

from ragtui.rag.chat import Answer
from ragtui.source import Source

CITATION = Source(1, "docs/guide.md", "Guide", "§ Install", "Run `make run` to start.", 0.912, cited=True)


class FakeChatService:
    """Saves the question, streams `reply` word by word, saves the answer (replying to the question).

    `hold_at`: stop streaming after that many pieces until `should_stop()` is true or
    `release` is set, so a test can press Esc mid-answer or act while it is answering.
    """

    def __init__(self, store, reply: str = "Run **make run** [1].", *, hold_at: int | None = None,
                 sources: list[Source] | None = None):
        self.store = store
        self.reply = reply
        self.sources = sources if sources is not None else [CITATION]
        self.hold_at = hold_at
        self.release = threading.Event()
        self.fail_with: Exception | None = None  # raised once the question is saved, as a model error would be
        self.load_gate = threading.Event()
        self.load_gate.set()
        self.asked: list[tuple[str, str, list[str]]] = []  # (sid, question, history it saw)
        self.answers: list[Answer] = []
        self.idle = threading.Event()  # set when an ask returns or raises
        self.model_info = {"name": "fake-model", "path": "-", "n_ctx": 2048, "threads": 2}
        self.index_info = {"documents": 3, "chunks": 12}
        self.completion_tokens = 8  # 0: a "nothing found" answer, which runs no model

    def load(self, progress=None):
        if progress:
            progress("loading the fake model")
        self.load_gate.wait(30)

    def ask(self, session_id, question, *, on_token=None, should_stop=None, use_history=True, on_saved=None,
            on_status=None):
        self.idle.clear()
        try:
            return self._ask(session_id, question, on_token, should_stop, on_saved or (lambda _message: None))
        finally:
            self.idle.set()

    def _ask(self, session_id, question, on_token, should_stop, saved):
        history = [m.content for m in self.store.get_conversation_history(session_id)]
        self.asked.append((session_id, question, history))
        asked = self.store.add_message(session_id, "user", question)
        saved(asked)
        if self.fail_with is not None:
            raise self.fail_with
        pieces = [word + " " for word in self.reply.split(" ")]
        pieces[-1] = pieces[-1].rstrip()
        text, stopped = "", False
        for i, piece in enumerate(pieces):
            if self.hold_at is not None and i == self.hold_at:
                deadline = time.monotonic() + 10  # a test that forgot to release fails, not hangs
                while not should_stop() and not self.release.wait(0.01) and time.monotonic() < deadline:
                    pass
            if should_stop and should_stop():
                stopped = True
                break
            text += piece
            if on_token:
                on_token(piece)
        sources = self.sources
        saved(self.store.add_message(session_id, "assistant", text, sources=[s.to_dict() for s in sources],
                                     reply_to=asked.id))
        answer = Answer(session_id, text, sources, prompt_tokens=120, completion_tokens=self.completion_tokens,
                        retrieval_ms=12.0, ttft_ms=40.0, tokens_per_s=25.0, stopped=stopped)
        self.answers.append(answer)
        return answer
