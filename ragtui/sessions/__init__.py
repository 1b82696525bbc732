"""The session store: one implementation over any redis-py-compatible client."""
from .factory import open_store, open_store_from_settings
from .failover import FailoverStore
from .models import (
    CorruptSession,
    Message,
    Session,
    SessionNotFound,
    StoreError,
    StoreStats,
    StoreUnavailable,
)
from .store import SessionStore

__all__ = [
    "FailoverStore",
    "SessionStore",
    "open_store",
    "open_store_from_settings",
    "CorruptSession",
    "Message",
    "Session",
    "SessionNotFound",
    "StoreError",
    "StoreStats",
    "StoreUnavailable",
]
