"""The session store's public contract: what the app, the chat service and the commands
may call. `SessionStore` (any redis-py client) and `FailoverStore` (Redis with a local
outbox) satisfy it; the type checker holds them to it (`open_store` returns this type).

Importing this module is cheap: it names no backend and loads neither redis nor fakeredis.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator, Protocol

from .keys import Keys
from .models import Message, Session, StoreStats


class SessionStoreAPI(Protocol):
    @property
    def backend(self) -> str:
        """"redis" | "local" | "memory"."""

    @property
    def user(self) -> str | None:
        """Whose sessions a bare session id resolves to; None: everyone's (admin)."""

    @property
    def keys(self) -> Keys:
        """The key layout (channel names for live sync)."""

    @property
    def health(self) -> str:
        """"ok", or "degraded — " and why."""

    @property
    def fallback_reason(self) -> str | None:
        """Why sessions are being saved on this machine instead of Redis; None while they aren't."""

    def describe(self) -> str:
        """One line for the header: where sessions are kept."""

    # writes
    def create_session(self, user_id: str, title: str | None = None, *, session_id: str | None = None,
                       model: str = "") -> str:
        """A new session (its id); `model`: the model that will answer in it, if known."""

    def add_message(
        self,
        session_id: str,
        role: str,
        content: str,
        sources: Iterable[dict[str, Any]] = (),
        *,
        message_id: str | None = None,
        timestamp: float | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """Store a message (`reply_to`: an answer's question, by id). Restarts the session's
        countdown at this store's TTL, never earlier than its deadline now."""

    def rename_session(self, session_id: str, title: str) -> None: ...

    def set_session_model(self, session_id: str, model: str) -> None:
        """Record the model that wrote the session's latest answer (a chat continued with
        another model names the new one); cheap when it is unchanged."""

    def pin_session(self, session_id: str) -> None: ...

    def unpin_session(self, session_id: str) -> None: ...

    def extend_session(self, session_id: str, ttl: int | None = None) -> int | None:
        """Restart the idle countdown; seconds left, None when it never expires. Without `ttl`
        (the store's own), never earlier than the session's deadline now: devices may differ."""

    def clear_session(self, session_id: str) -> bool: ...

    # reads
    def get_session(self, session_id: str) -> Session | None: ...

    def ttl(self, session_id: str) -> int | None: ...

    def get_messages(self, session_id: str, start: int = 0, end: int = -1) -> list[Message]: ...

    def get_conversation_history(self, session_id: str) -> list[Message]: ...

    def get_last_n_messages(self, session_id: str, n: int) -> list[Message]: ...

    def format_history_as_context(self, session_id: str, n: int = 10) -> str: ...

    def get_all_active_sessions(self, user_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Session]: ...

    def search_sessions(self, user_id: str, text: str, limit: int = 50) -> list[Session]: ...

    def iter_search_sessions(self, user_id: str, text: str, page: int = 100) -> Iterator[list[Session]]:
        """The user's matching sessions, newest first, a page of sessions searched at a time."""

    def find_sessions(self, text: str, limit: int = 50, offset: int = 0) -> list[Session]:
        """Everyone's sessions whose user, id or title contains `text` (admin)."""

    def owner_of(self, session_id: str) -> str | None: ...

    def count_sessions(self, user_id: str | None = None) -> int: ...

    def user_version(self, user_id: str) -> int:
        """Goes up with every change to the user's sessions (a cheap "anything new?")."""

    def migrate_layout(self) -> int:
        """Move sessions kept in an older key layout to the current one; how many moved."""

    def get_session_stats(self) -> StoreStats: ...

    # plumbing
    @property
    def sharded(self) -> bool:
        """Redis Cluster: events go out on sharded pub/sub."""

    def event_client(self) -> Any:
        """A redis-py client to subscribe to `keys.events(user)` with."""

    def ping(self) -> bool: ...

    def close(self) -> None: ...


if TYPE_CHECKING:  # the type checker holds both stores to the contract (nothing runs here)
    from .failover import FailoverStore
    from .store import SessionStore

    def _both_stores_satisfy_the_contract(plain: SessionStore, failover: FailoverStore) -> list[SessionStoreAPI]:
        return [plain, failover]
