"""A session as a document: Markdown for people, JSON for programs."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from ..conversation import conversation_order
from ..source import Source, answer_notes
from .models import Message, Session

FORMATS = ("md", "json")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def to_json(session: Session, messages: list[Message]) -> str:
    return json.dumps(
        {"session": session.to_dict(), "messages": [m.to_dict() for m in messages]},
        ensure_ascii=False,
        indent=2,
    )


def to_markdown(session: Session, messages: list[Message]) -> str:
    lines = [f"# {session.title or 'Untitled chat'}", ""]
    lines.append(f"Session `{session.id}` of {session.user_id}, started {_when(session.created_at)}.")
    if session.model:  # sessions made before ragtui kept it name none
        lines.append(f"Model: {session.model}.")
    for m in messages:
        lines += ["", f"## {m.role.capitalize()} — {_when(m.timestamp)}", "", m.content]
        for heading, notes in answer_notes(Source.from_dicts(m.sources)):
            lines += ["", f"{heading}:", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


def export_session(session: Session, messages: list[Message], fmt: str) -> str:
    """`messages` as stored, written each answer under its question (conversation_order)."""
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}")
    ordered = conversation_order(messages)
    return to_json(session, ordered) if fmt == "json" else to_markdown(session, ordered)
