"""Results of background workers, posted back to the UI thread.

Widgets' own events are nested in their classes (`ChatPane.QuestionAsked`); these are
facts learned by a worker: the store opened, the model loaded, the answer finished.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class StoreOpened(Message):
    """The session store and chat service exist (the model may still be loading)."""

    store: Any
    service: Any


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
    answer: Any  # ragtui.rag.chat.Answer
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
    """A session to show in the chat: its newest messages and how many there are."""

    session: Any
    messages: list
    total: int


@dataclass
class StoreActionDone(Message):
    """A store action finished; `note` tells the user what happened."""

    note: str
    severity: str = "information"


@dataclass
class AdminSessionsListed(Message):
    sessions: list
    stats: Any


@dataclass
class EarlierLoaded(Message):
    """Older messages of the open session, for the top of the transcript."""

    session_id: str
    messages: list
    hidden_before: int


@dataclass
class SessionExpired(Message):
    """The open session was gone when a question was asked in it (the store said so);
    the question starts a new session."""

    old_session_id: str
