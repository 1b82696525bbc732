"""Results of background workers, posted back to the UI thread.

Widgets' own events are nested in their classes (`ChatPane.QuestionAsked`); these are
facts learned by a worker: the store opened, the model loaded, the answer finished.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message
from textual.notifications import SeverityLevel

from ..conversation import conversation_order

if TYPE_CHECKING:
    from ..rag.chat import Answer, ChatService
    from ..sessions.api import SessionStoreAPI
    from ..sessions.models import Message as StoredMessage
    from ..sessions.models import Session, StoreStats


@dataclass
class StoreOpened(Message):
    """The session store and chat service exist (the model may still be loading)."""

    store: SessionStoreAPI
    service: ChatService | None  # None: no model (browsing only)


@dataclass
class StoreFailed(Message):
    error: str


@dataclass
class ModelProgress(Message):
    step: str


@dataclass
class ModelReady(Message):
    model_info: dict
    index_info: dict


@dataclass
class ModelFailed(Message):
    error: str


@dataclass
class AnswerStarted(Message):
    """The question was handed to the model in this session (maybe a new one)."""

    session_id: str
    question: str


@dataclass
class AnswerFinished(Message):
    answer: Answer
    question: str


@dataclass
class AnswerStatus(Message):
    """What the answer in flight is doing: searching, reading passages, tokens/s."""

    status: str


@dataclass
class AnswerFailed(Message):
    error: str


@dataclass
class SessionLoaded(Message):
    """A session to show in the chat: its newest messages, each answer under its question
    (as stored, two devices asking at once read Q1 Q2 A1 A2), and how many there are."""

    session: Session
    messages: list[StoredMessage]
    total: int
    newest_id: str | None = field(init=False)  # the last one stored: live sync reads on after it

    def __post_init__(self) -> None:
        super().__post_init__()
        self.newest_id = self.messages[-1].id if self.messages else None
        self.messages = conversation_order(self.messages)


@dataclass
class StoreActionDone(Message):
    """A store action finished; `note` tells the user what happened."""

    note: str
    severity: SeverityLevel = "information"


@dataclass
class AdminSessionsListed(Message):
    sessions: list[Session]
    stats: StoreStats


@dataclass
class EarlierLoaded(Message):
    """Older messages of the open session, for the top of the transcript."""

    session_id: str
    messages: list[StoredMessage]  # each answer under its question, as in SessionLoaded
    hidden_before: int

    def __post_init__(self) -> None:
        super().__post_init__()
        self.messages = conversation_order(self.messages)


@dataclass
class SessionExpired(Message):
    """The open session was gone when a question was asked in it (the store said so);
    the question starts a new session."""

    old_session_id: str
