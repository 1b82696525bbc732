"""Push notices of one user's session changes, heard from Redis pub/sub.

Every script that changes a session publishes one line of JSON on the owner's channel
(`{ns}:{u:<user>}:events`: the user's hash slot, so a cluster uses sharded pub/sub):
`{"user", "sid", "kind": create|add|rename|model|pin|unpin|extend|clear, "id": <message id, add only>}`.
`EventListener` reads them on a thread of its own, over its own connection (an idle
subscription sends no commands). A notice published while the connection was down is
lost, so `on_resync` is called each time the subscription is (re)made: the caller reads
what it shows afresh then.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

import redis

log = logging.getLogger(__name__)

KINDS = frozenset({"create", "add", "rename", "model", "pin", "unpin", "extend", "clear"})
READ_TIMEOUT = 1.0  # seconds a read waits before looking whether to stop
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)  # waits between reconnection tries (the last repeats)


@dataclass(frozen=True)
class SessionEvent:
    user: str
    session_id: str
    kind: str
    message_id: str | None = None


def parse_event(data: Any) -> SessionEvent | None:
    """The notice in a published payload; None for anything else (logged, never raised)."""
    try:
        fields = json.loads(data)
        event = SessionEvent(
            user=str(fields["user"]), session_id=str(fields["sid"]), kind=str(fields["kind"]),
            message_id=None if fields.get("id") is None else str(fields["id"]),
        )
    except (ValueError, TypeError, KeyError):
        log.debug("ignoring a notice that is not ragtui's: %r", data)
        return None
    return event if event.kind in KINDS else None


class EventListener:
    """Calls `on_event(SessionEvent)` for each notice on `channel`, `on_resync()` once
    subscribed (again, after each reconnection) and `on_lost()` when a subscription breaks,
    all from its own thread, until `close()`."""

    def __init__(
        self,
        client: Any,
        channel: str,
        *,
        on_event: Callable[[SessionEvent], None],
        on_resync: Callable[[], None],
        on_lost: Callable[[], None] = lambda: None,
        sharded: bool = False,
    ) -> None:
        self.client = client
        self.channel = channel
        self.sharded = sharded
        self.on_event = on_event
        self.on_resync = on_resync
        self.on_lost = on_lost
        self.connected = threading.Event()  # set while subscribed
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"events {channel}", daemon=True)

    def start(self) -> "EventListener":
        self._thread.start()
        return self

    def close(self, timeout: float = READ_TIMEOUT * 2) -> None:
        self._closed.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._closed.is_set():
            try:
                self._listen()
                failures = 0
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.info("live sync: %s: reconnecting", exc)
            except Exception:  # a bug in a callback must not end live sync for the session
                log.exception("live sync failed; reconnecting")
            if self.connected.is_set():
                self.connected.clear()
                self.on_lost()
            wait = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
            failures += 1
            self._closed.wait(wait)

    def _listen(self) -> None:
        """Subscribe and hand on notices until closed or the connection breaks."""
        pubsub = self.client.pubsub()
        try:
            if self.sharded:
                pubsub.ssubscribe(self.channel)
                read = pubsub.get_sharded_message
            else:
                pubsub.subscribe(self.channel)
                read = pubsub.get_message
            while not self._closed.is_set():
                message = read(timeout=READ_TIMEOUT)
                if message is None:
                    continue
                kind = message.get("type")
                if kind in ("subscribe", "ssubscribe"):  # also after redis-py re-subscribed by itself
                    self.connected.set()
                    self.on_resync()
                elif kind in ("message", "smessage"):
                    event = parse_event(message.get("data"))
                    if event is not None:
                        self.on_event(event)
        finally:
            try:
                pubsub.close()
            except Exception:  # the connection is already gone: nothing to release
                pass
