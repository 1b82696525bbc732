"""The question queue and the answer in flight, apart from the screen that shows them.

Questions wait their turn; one at a time is answered by `run` in a thread, which reports
back through `post` with the messages in `tui/messages.py`. Streamed pieces wait here until
the screen takes them on a timer: one message per token kept the UI thread parsing and
laying out between key presses.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from . import messages as msg

log = logging.getLogger(__name__)


@dataclass
class Question:
    text: str
    shown: Any = None  # the widget showing it: its answer goes right below


class Answering:
    def __init__(self, user: str, store: Any = None, service: Any = None) -> None:
        self.user = user
        self.store = store  # set once the store opens
        self.service = service
        self.model_ready = False
        self.current: Question | None = None  # being answered
        self.last_question: str | None = None  # what regenerate asks again
        self._queue: deque[Question] = deque()
        self._stop = threading.Event()
        self._tokens: deque[str] = deque()  # written by the answering thread

    @property
    def generating(self) -> bool:
        return self.current is not None

    @property
    def must_wait(self) -> bool:
        """A question asked now waits its turn."""
        return self.generating or not self.model_ready or self.store is None

    def submit(self, question: Question) -> None:
        self._queue.append(question)

    def next(self) -> Question | None:
        """The question to answer now: the oldest waiting, once the model is ready and
        nothing else is being answered."""
        if self.must_wait or not self._queue:
            return None
        self.current = self._queue.popleft()
        self.last_question = self.current.text
        self._stop.clear()
        self._tokens.clear()
        return self.current

    def done(self) -> None:
        self.current = None

    def stop(self) -> None:
        """Ask the answer in flight to stop at its next token; what came so far is kept."""
        self._stop.set()

    def take_tokens(self) -> str:
        """What the model wrote since the last call."""
        pieces = []
        while self._tokens:
            pieces.append(self._tokens.popleft())
        return "".join(pieces)

    def run(
        self, question: str, session_id: str | None, *,
        post: Callable[[Any], Any], on_saved: Callable[[Any], None] = lambda message: None,
    ) -> None:
        """Answer `question` in `session_id` (None or expired: a new session). Blocking: call
        it in a thread. `post` gets AnswerStarted (and SessionExpired), then AnswerFinished
        or AnswerFailed; `on_saved` each message the store acknowledged."""
        from ..sessions import SessionNotFound, StoreUnavailable

        try:
            if session_id is not None:
                try:
                    # A question is activity: the session lives on while it is answered.
                    self.store.extend_session(session_id)
                except SessionNotFound:  # the server says it is gone: nothing of this question is there
                    post(msg.SessionExpired(session_id))
                    session_id = None
                except StoreUnavailable:
                    pass  # unreachable is not expired: the question is kept locally until it is back
            model = str(self.service.model_info.get("name", ""))  # loaded: questions wait for it
            if session_id is None:
                session_id = self.store.create_session(self.user, model=model)
            post(msg.AnswerStarted(session_id, question))

            first = [True]

            def on_token(piece: str) -> None:
                if first:  # tokens are coming: no longer "thinking…", whatever the service says
                    first.clear()
                    post(msg.AnswerStatus("writing…"))
                self._tokens.append(piece)

            answer = self.service.ask(
                session_id, question, on_token=on_token, should_stop=self._stop.is_set,
                on_saved=on_saved, on_status=lambda status: post(msg.AnswerStatus(status)),
            )
        except SessionNotFound:  # expired or deleted while answering: never re-asked elsewhere
            post(msg.AnswerFailed("the session expired or was deleted while answering: the answer was not saved"))
            return
        except Exception as exc:  # shown as the failed answer; the app carries on
            post(msg.AnswerFailed(str(exc)))
            return
        try:
            if model:
                self.store.set_session_model(session_id, model)
        except Exception:  # the answer is saved and shown all the same: only who wrote it is missing
            log.warning("session %s: could not record the model that answered", session_id, exc_info=True)
        post(msg.AnswerFinished(answer, question))
