"""The order a conversation reads in: each answer right after the question it answers.

A session stores messages in the order they arrived. Two devices asking at once store
Q1 Q2 A1 A2; every answer names its question (`reply_to`), so whatever shows or reads a
conversation (the chat, `sessions show`, exports, the prompt's history) puts it back as
Q1 A1 Q2 A2 with `conversation_order`. Pure, and imported by sessions/ and rag/ alike.
"""
from __future__ import annotations

from typing import Protocol, Sequence, TypeVar


class Said(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def reply_to(self) -> str | None: ...


M = TypeVar("M", bound=Said)


def conversation_order(messages: Sequence[M]) -> list[M]:
    """`messages` (as stored: arrival order) with each reply moved right after the message
    it answers, replies to one message in arrival order. A reply whose question is not
    among them (trimmed, outside the page read) or not before it, and every message stored
    before answers named their question, keeps its place. Nothing is dropped or repeated."""
    first_at: dict[str, int] = {}
    for i, m in enumerate(messages):
        first_at.setdefault(m.id, i)
    replies: dict[str, list[M]] = {}
    in_place: list[M] = []
    for i, m in enumerate(messages):
        if m.reply_to is not None and first_at.get(m.reply_to, i) < i:  # earlier: no cycle
            replies.setdefault(m.reply_to, []).append(m)
        else:
            in_place.append(m)
    ordered: list[M] = []
    todo = in_place[::-1]
    while todo:
        m = todo.pop()
        ordered.append(m)
        todo += replies.pop(m.id, [])[::-1]  # popped: a repeated id places its replies once
    return ordered
