"""The session store: one implementation over any redis-py-compatible client.

The values and errors import cheaply; the store itself (redis, fakeredis) loads on first
use of `open_store` and friends, so the app can paint before it needs them.
"""
from .api import SessionStoreAPI
from .models import (
    AccessDenied,
    CorruptSession,
    Message,
    Session,
    SessionNotFound,
    StoreError,
    StoreStats,
    StoreUnavailable,
)

_LAZY = {
    "open_store": "factory",
    "open_store_from_settings": "factory",
    "FailoverStore": "failover",
    "SessionStore": "store",
}

__all__ = [
    "AccessDenied",
    "CorruptSession",
    "FailoverStore",
    "Message",
    "Session",
    "SessionNotFound",
    "SessionStore",
    "SessionStoreAPI",
    "StoreError",
    "StoreStats",
    "StoreUnavailable",
    "open_store",
    "open_store_from_settings",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
