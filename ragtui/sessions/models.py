"""What the session store hands out: plain, immutable values."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import RagtuiError
from ..source import Source


class StoreError(RagtuiError):
    """The store could not do what was asked; the message says what and why."""


class StoreUnavailable(StoreError):
    """No backend can be reached (Redis down and no local fallback allowed)."""


class SessionNotFound(StoreError):
    """The session never existed, was deleted, or expired."""


class AccessDenied(StoreError):
    """The Redis user may not touch those keys (NOPERM): an ACL confines it elsewhere."""


class CorruptSession(StoreError):
    """A session's keys hold data ragtui did not write (wrong type, unparseable)."""


@dataclass(slots=True)
class Message:
    id: str
    role: str  # "user" | "assistant" | "system"
    content: str
    timestamp: float  # Unix seconds
    sources: tuple[dict[str, Any], ...] = ()  # each as Source.to_dict() wrote it, or an earlier release
    reply_to: str | None = None  # an answer: the id of the question it answers (None before ragtui kept it)

    def to_dict(self) -> dict[str, Any]:
        """For exports and `sessions show --json`: sources in today's form whatever release
        stored them, so a script reads one set of fields."""
        return {
            "id": self.id,
            "role": self.role,
            "content": self.content,
            "timestamp": self.timestamp,
            "sources": [s.to_dict() for s in Source.from_dicts(self.sources)],
            "reply_to": self.reply_to,
        }


@dataclass(slots=True)
class Session:
    id: str
    user_id: str
    title: str
    created_at: float
    last_activity: float
    message_count: int
    ttl: int | None  # seconds left; None = never expires (pinned, or ttl 0)
    pinned: bool = False
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "title": self.title,
            "created_at": self.created_at,
            "last_activity": self.last_activity,
            "message_count": self.message_count,
            "ttl": self.ttl,
            "pinned": self.pinned,
            "model": self.model,
        }


@dataclass
class StoreStats:
    backend: str  # "redis" | "local" | "memory"
    health: str  # "ok" | "degraded — saving locally" | ...
    sessions: int
    messages: int
    memory_bytes: int | None
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # op -> {p50, p99, n}
    server: dict[str, Any] = field(default_factory=dict)  # redis_version, connected_clients, ...
    location: str = ""  # URL or journal path
    users: int = 0  # users with at least one live session

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
