"""The open session's time to live, counting down every second."""
from __future__ import annotations

import time
from typing import Callable

from textual.message import Message
from textual.widgets import Static

from ...formatting import format_ttl


class TtlCountdown(Static):
    """Counts down locally and is corrected by `sync()` with what the server says.

    Counting locally keeps the display smooth without a round trip per second; the
    screen calls `sync()` after each poll of `store.ttl`, so it never drifts more than
    a second from the server.
    """

    DEFAULT_CSS = """
    TtlCountdown { width: auto; padding: 0 1; }
    TtlCountdown.-expiring { background: $error; color: $text; text-style: bold; }
    TtlCountdown.-forever { color: $success; }
    TtlCountdown.-unknown { color: $warning; }
    """

    class Expired(Message):
        """The local count reached zero; the screen asks the server to confirm."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, **kwargs) -> None:
        super().__init__("TTL —", markup=False, **kwargs)
        self._clock = clock
        self._deadline: float | None = None  # clock() value at expiry
        self._state = "none"  # none | forever | counting | expired | unknown
        self._expired_posted = False

    def on_mount(self) -> None:
        self.set_interval(1.0, self._refresh_display)

    @property
    def remaining(self) -> float | None:
        """Seconds left on the local count; None when it never expires or no session."""
        if self._state != "counting" or self._deadline is None:
            return None
        return max(self._deadline - self._clock(), 0.0)

    def set_ttl(self, ttl: int | None) -> None:
        """Start counting from `ttl` seconds (None = never expires)."""
        if ttl is None:
            self._state, self._deadline = "forever", None
        else:
            self._state, self._deadline = "counting", self._clock() + ttl
        self._expired_posted = False
        self._refresh_display()

    def sync(self, server_ttl: int | None) -> None:
        """Correct the local count when it is off by more than a second.

        The store reports whole seconds, rounded up: the true value is in
        (server_ttl - 1, server_ttl], so compare against the middle of that range.
        """
        if server_ttl is None or self._state != "counting":
            self.set_ttl(server_ttl)
            return
        local = self.remaining or 0.0
        if abs(local - (server_ttl - 0.5)) > 1.0:
            self.set_ttl(server_ttl)

    def clear(self) -> None:
        """No session is open."""
        self._state, self._deadline = "none", None
        self._refresh_display()

    def mark_expired(self) -> None:
        self._state, self._deadline = "expired", None
        self._refresh_display()

    def mark_unknown(self) -> None:
        """The server can't be asked: the session is not expired, its TTL just isn't known."""
        self._state, self._deadline = "unknown", None
        self._refresh_display()

    def _refresh_display(self) -> None:
        remaining = self.remaining
        if self._state == "none":
            text = "TTL —"
        elif self._state == "forever":
            text = "TTL ∞"
        elif self._state == "expired":
            text = "TTL expired"
        elif self._state == "unknown":
            text = "TTL ? (Redis unreachable)"
        else:
            text = f"TTL {format_ttl(remaining)}"
        self.update(text)
        self.set_class(self._state == "counting" and remaining is not None and remaining <= 60, "-expiring")
        self.set_class(self._state == "forever", "-forever")
        self.set_class(self._state == "unknown", "-unknown")
        if self._state == "counting" and remaining == 0 and not self._expired_posted:
            self._expired_posted = True
            self.post_message(self.Expired())
