"""Live sync: what other instances and devices change shows here within a second.

A poll, in a thread, asks the store for the user's sessions (or the filter's matches),
the open session's TTL and newest messages, and now and then the store's stats; while an
answer is written it also keeps the session alive. Back on the UI thread, what is new is
posted to the screen as the messages below; the screen decides what the panes show.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from . import messages as msg

POLL_SECONDS = 0.5  # live updates from other instances show within a second
STATS_EVERY = 4  # polls between stats refreshes (stats scan every session)
TAIL = 50  # newest messages compared when another instance changed the session


@dataclass
class Poll:
    """What one poll found, gathered in the poll thread."""

    query: str
    sessions: list
    ttl_known: bool  # False: listed from what this machine knows, the server did not answer
    session_id: str | None = None  # the open session, when it was asked about
    gone: bool = False  # the server answered that the session no longer exists
    ttl: int | None = None
    tail: list | None = None  # its newest messages (None: its TTL could not be asked)
    stats: Any = None
    unreachable: str | None = None  # why the store's server does not answer


class LiveSync(Widget):
    """Polls the store for the screen (it draws nothing)."""

    DEFAULT_CSS = "LiveSync { display: none; }"

    @dataclass
    class SessionsListed(Message):
        """This user's sessions, most recent first, matching the current filter."""

        sessions: list
        ttl_known: bool

    @dataclass
    class MessagesArrived(Message):
        """Messages another instance added to the open session, not shown yet."""

        session_id: str
        messages: list

    @dataclass
    class TtlSynced(Message):
        """The server's time to live of the open session (None = never expires)."""

        session_id: str
        ttl: int | None

    @dataclass
    class SessionGone(Message):
        """The server answered that the open session no longer exists."""

        session_id: str

    @dataclass
    class ReachabilityChanged(Message):
        """The store's server stopped answering (`unreachable` says why) or answers again (None)."""

        unreachable: str | None

    @dataclass
    class StatsRefreshed(Message):
        stats: Any  # ragtui.sessions.StoreStats
        unreachable: bool

    @dataclass
    class _Polled(Message):
        poll: Poll = field(repr=False)

    def __init__(self, *, user: str, ttl: int, monotonic: Callable[[], float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.store: Any = None
        self.user = user
        self.ttl = ttl
        self.monotonic = monotonic
        self.query_text = ""  # the browser's filter
        self.session_id: str | None = None  # the open session
        self.newest_id: str | None = None  # its newest message on screen
        self.answering = False
        self.unreachable = False  # the store's server did not answer the last poll
        self._own_ids: set[str] = set()  # messages the screen saved and showed itself (by id)
        self._kept_alive_at = 0.0  # monotonic time of the last keep-alive while answering
        self._polls = 0
        self._poll_worker = None

    def start(self, store: Any) -> None:
        self.store = store
        self.set_interval(POLL_SECONDS, self.poll)
        self.poll()

    def follow(self, session_id: str | None, *, newest_id: str | None = None) -> None:
        """Follow `session_id` (None: no session is open), whose newest message shown is `newest_id`."""
        self.session_id, self.newest_id = session_id, newest_id
        if session_id is None:
            self._own_ids.clear()

    def saved(self, message_id: str) -> None:
        """The screen shows this message itself (any thread): live sync must not add it again."""
        self._own_ids.add(message_id)

    def answer_started(self) -> None:
        self.answering = True
        self._kept_alive_at = self.monotonic()

    def answer_ended(self) -> None:
        self.answering = False

    def poll(self) -> None:
        """Start a poll unless one is still out (a stalled Redis must not pile them up)."""
        if self.store is None or (self._poll_worker is not None and self._poll_worker.is_running):
            return
        self._polls += 1
        with_stats = self._polls % STATS_EVERY == 1
        tail_session = None if self.answering else self.session_id
        self._poll_worker = self._poll_store(self.query_text, tail_session, with_stats, self._keep_alive())

    def _keep_alive(self) -> str | None:
        """The session to extend now: an answer being written is activity too, so a TTL
        shorter than the answer must not expire the session under it."""
        now = self.monotonic()
        if not (self.answering and self.session_id and self.ttl) or now - self._kept_alive_at < self.ttl / 3:
            return None
        self._kept_alive_at = now
        return self.session_id

    @work(thread=True, group="poll")
    def _poll_store(self, query: str, session_id: str | None, with_stats: bool, keep_alive: str | None) -> None:
        from ..sessions import SessionNotFound, StoreUnavailable

        store = self.store
        try:
            if keep_alive is not None:
                with contextlib.suppress(SessionNotFound):  # the answer's own save reports it
                    store.extend_session(keep_alive)
            sessions = store.search_sessions(self.user, query) if query else store.get_all_active_sessions(self.user)
            poll = Poll(query, sessions, ttl_known=not getattr(store, "fallback_reason", None))
            if session_id is not None:
                poll.session_id = session_id
                try:
                    poll.ttl = store.ttl(session_id)
                    poll.tail = store.get_messages(session_id, -TAIL, -1)
                except SessionNotFound:  # the server answered that it is gone
                    poll.gone = True
                except StoreUnavailable:  # unknown, not expired: resynced once the server answers
                    pass
            poll.stats = store.get_session_stats() if with_stats else None
        except Exception as exc:  # shown in the stats pane's health; the next poll retries
            self.post_message(msg.StoreActionDone(f"Store: {exc}", "error"))
            return
        # Asked after the calls above, which are what notices an outage (or its end).
        poll.unreachable = getattr(store, "fallback_reason", None)
        self.post_message(self._Polled(poll))

    @on(_Polled)
    def _polled(self, event: _Polled) -> None:
        event.stop()
        poll = event.poll
        if poll.query == self.query_text:
            self.post_message(self.SessionsListed(poll.sessions, poll.ttl_known))
        if poll.session_id is not None and poll.session_id == self.session_id:
            self._session_polled(poll)
        self._reachability(poll.unreachable)
        if poll.stats is not None:
            self.post_message(self.StatsRefreshed(poll.stats, self.unreachable))

    def _session_polled(self, poll: Poll) -> None:
        if poll.gone:
            self.post_message(self.SessionGone(poll.session_id))
            return
        if poll.tail is None:
            return
        self.post_message(self.TtlSynced(poll.session_id, poll.ttl))
        tail = poll.tail
        if self.answering or not tail or tail[-1].id == self.newest_id:
            return
        ids = [m.id for m in tail]
        fresh = tail[ids.index(self.newest_id) + 1 :] if self.newest_id in ids else tail
        self.newest_id = fresh[-1].id
        others = [m for m in fresh if m.id not in self._own_ids]
        self._own_ids.difference_update(m.id for m in fresh)
        if others:
            self.post_message(self.MessagesArrived(poll.session_id, others))

    def _reachability(self, unreachable: str | None) -> None:
        if (unreachable is not None) == self.unreachable:
            return
        self.unreachable = unreachable is not None
        if not self.unreachable:
            self._polls = 0  # the next poll brings the stats back too
        self.post_message(self.ReachabilityChanged(unreachable))

    def extend(self, session_id: str) -> None:
        """Restart the session's TTL now (ctrl+t); the screen hears TtlSynced and StoreActionDone."""
        self._extend(session_id)

    @work(thread=True, group="store-action")
    def _extend(self, session_id: str) -> None:
        try:
            ttl = self.store.extend_session(session_id)
        except Exception as exc:  # expired meanwhile, or the store failed
            self.post_message(msg.StoreActionDone(f"Cannot extend: {exc}", "error"))
            return
        if getattr(self.store, "fallback_reason", None):  # kept locally: the server's TTL is unknown yet
            self.post_message(msg.StoreActionDone("Extended: saved locally, sent when Redis is back."))
            return
        self.post_message(self.TtlSynced(session_id, ttl))
        self.post_message(msg.StoreActionDone("Session extended."))
