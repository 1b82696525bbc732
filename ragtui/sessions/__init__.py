"""The session store: one implementation over any redis-py-compatible client."""
from .models import (
    CorruptSession,
    Message,
    Session,
    SessionNotFound,
    StoreError,
    StoreStats,
    StoreUnavailable,
)

__all__ = [
    "CorruptSession",
    "Message",
    "Session",
    "SessionNotFound",
    "StoreError",
    "StoreStats",
    "StoreUnavailable",
]
