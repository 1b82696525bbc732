"""Live sync: what other instances and devices change shows here at once, at no cost idle.

On Redis, every change to one of this user's sessions is pushed as a notice
(`ragtui.sessions.events`); for each, a worker reads that session again — and, when it is
the open one, its TTL and new messages. Whenever the subscription is (re)made, everything
shown is read afresh (notices published meanwhile are lost). A slow safety check reads
the user's change counter (one command) and reads afresh only when it moved without a
notice. An idle app thus sends a few commands a minute.

The local and memory stores have no other process to hear from the network: the same
check runs often, with the open session's TTL, at no network cost.

The browser's listing is driven from here (first page, further pages, search results,
one-session updates); the rest is posted to the screen as the messages below.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from . import messages as msg

if TYPE_CHECKING:
    from textual.worker import Worker

    from ..sessions.events import EventListener

PAGE = 50  # sessions in the browser's first page
MORE = 50  # sessions per further page, asked for as the user scrolls: ~4 ms to add on screen,
# and a small read in the worker (a page of 100 held up the key pressed while it was added)
RELIST = 500  # at most this many rows are read again when the listing is read afresh
TAIL = 50  # newest messages compared when another instance changed the open session
SAFETY_SECONDS = 15.0  # with push: a change whose notice was lost shows within this
LOCAL_SECONDS = 0.5  # without push (local, memory, or Redis unreachable): how often to look
STATS_SECONDS = 30.0  # the stats pane's refresh when nothing changes
STATS_AFTER_CHANGE = 2.0  # at most this often while changes come in
TICK_SECONDS = 0.5  # the UI-side timer (no store call unless something is due)


@dataclass
class Poll:
    """What one read of the store found, gathered in a worker thread."""

    sessions: list | None = None  # the listing's first `rows` (+1 to know if more) (None: not read)
    rows: int = 0
    total: int | None = None
    session_id: str | None = None  # the open session, when it was asked about
    gone: bool = False  # the server answered that the session no longer exists
    ttl: int | None = None
    tail: list | None = None  # its newest messages (None: not read)
    changed: list = field(default_factory=list)  # (session, created?) another device changed
    removed: list = field(default_factory=list)  # ids of sessions deleted or expired
    stats: Any = None
    version: int | None = None  # the user's change counter after these reads
    unreachable: str | None = None  # why the store's server does not answer


class LiveSync(Widget):
    """Keeps the browser's listing, the open session and the stats current (draws nothing)."""

    DEFAULT_CSS = "LiveSync { display: none; }"

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
    class _Read(Message):
        poll: Poll = field(repr=False)

    @dataclass
    class _Heard(Message):
        event: Any  # ragtui.sessions.events.SessionEvent, or None: read everything afresh

    @dataclass
    class _Listed(Message):
        query: str
        sessions: list
        first: bool  # the first rows of this query (else: more of them)
        more: bool
        total: int | None = None
        offset: int | None = None  # where a listing page starts (None: search matches, appended)

    def __init__(self, *, user: str, ttl: int, monotonic: Callable[[], float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.store: Any = None
        self.browser: Any = None  # the SessionBrowser whose listing this keeps
        self.user = user
        self.ttl = ttl
        self.monotonic = monotonic
        self.query_text = ""  # the browser's filter
        self.session_id: str | None = None  # the open session
        self.newest_id: str | None = None  # its newest message on screen
        self.answering = False
        self.unreachable = False  # the store's server did not answer the last read
        self._reason: str | None = None  # why, as the store said it last
        self._own_ids: set[str] = set()  # messages the screen saved and showed itself (by id)
        self._kept_alive_at = 0.0  # monotonic time of the last keep-alive while answering
        self._listener: EventListener | None = None  # the Redis subscription; None without push
        self._version: int | None = None  # the user's change counter as last read
        self._checked_at = 0.0
        self._stats_at = -STATS_SECONDS
        self._stats_due = False  # changes came since the stats were last read
        self._changed: dict[str, str] = {}  # session id -> kind of its latest notice, not read yet
        self._lock = threading.Lock()  # guards _changed and _draining (the listener's thread adds)
        self._draining = False
        self._check_worker: Worker | None = None
        self._search_stop: threading.Event | None = None

    # ------------------------------------------------------------ set up
    def start(self, store: Any, browser: Any) -> None:
        self.store, self.browser = store, browser
        if store.backend == "redis":
            self._listen()
        self.set_interval(TICK_SECONDS, self._tick)
        self._resync()

    def _listen(self) -> None:
        from ..sessions.events import EventListener

        try:
            client = self.store.event_client()
        except Exception:  # no subscription (e.g. unreachable at start): the checks cover it
            client = None
        if client is None:
            return
        self._listener = EventListener(
            client, self.store.keys.events(self.user), sharded=self.store.sharded,
            on_event=self._post_heard, on_resync=self._post_heard, on_lost=self._post_heard,
        ).start()

    def _post_heard(self, event: Any = None) -> None:
        """From the listener's thread: a notice (None: read everything afresh)."""
        self.post_message(self._Heard(event))

    def on_unmount(self) -> None:
        if self._listener is not None:
            self._listener.close(timeout=0)
        if self._search_stop is not None:
            self._search_stop.set()

    @property
    def pushed(self) -> bool:
        """Changes are pushed to us right now (else we look for them often)."""
        return self._listener is not None and self._listener.connected.is_set() and not self.unreachable

    # ---------------------------------------------------- the open session
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
        """The answer is over: the open session's tail, skipped while it streamed, is read now
        (a message another device added meanwhile shows; ours are known by id)."""
        self.answering = False
        if self.session_id is not None:
            self._note_change(self.session_id, "add")

    def poll(self) -> None:
        """Ask the store now (the countdown reached zero, a store action finished)."""
        self._check(force=True)

    # ------------------------------------------------------------- timers
    def _tick(self) -> None:
        """Every TICK_SECONDS on the UI thread: start what is due; no store call otherwise."""
        now = self.monotonic()
        self._reachability(self.store.fallback_reason)  # an attribute: no network
        keep_alive = self._keep_alive(now)
        if keep_alive is not None:
            self._extend_quietly(keep_alive)
        if now - self._checked_at >= (SAFETY_SECONDS if self.pushed else LOCAL_SECONDS):
            self._check()

    def _keep_alive(self, now: float) -> str | None:
        """The session to extend now: an answer being written is activity too, so a TTL
        shorter than the answer must not expire the session under it."""
        if not (self.answering and self.session_id and self.ttl) or now - self._kept_alive_at < self.ttl / 3:
            return None
        self._kept_alive_at = now
        return self.session_id

    @work(thread=True, group="keep-alive")
    def _extend_quietly(self, session_id: str) -> None:
        with contextlib.suppress(Exception):  # expired or unreachable: the answer's own save reports it
            self.store.extend_session(session_id)

    # ------------------------------------------------------------ reading
    def _check(self, *, force: bool = False) -> None:
        """Look for changes that were not pushed: the change counter (and, without push,
        the open session's TTL); a moved counter reads everything afresh."""
        if self.store is None or (self._check_worker is not None and self._check_worker.is_running):
            return
        self._checked_at = self.monotonic()
        with_ttl = force or not self.pushed
        self._check_worker = self._read(
            session_id=None if self.answering else self.session_id, rows=self._rows_shown(),
            only_if_moved=True, with_ttl=with_ttl,
        )

    def _resync(self) -> None:
        """Read everything shown afresh (start, reconnection, recovery)."""
        if self.store is None:
            return
        self._checked_at = self.monotonic()
        self._read(session_id=None if self.answering else self.session_id, rows=self._rows_shown(),
                   only_if_moved=False, with_ttl=True)

    def _rows_shown(self) -> int:
        """How many rows to read again: those loaded (up to RELIST), so the view keeps its place."""
        return min(max(len(self.browser.sessions), PAGE), RELIST)

    @work(thread=True, group="sync")
    def _read(self, *, session_id: str | None, rows: int, only_if_moved: bool, with_ttl: bool) -> None:
        from ..sessions import StoreUnavailable

        store, poll = self.store, Poll()
        try:
            try:
                poll.version = store.user_version(self.user)
            except StoreUnavailable:  # Redis does not answer: what this machine knows is listed each time
                poll.version = None
            moved = poll.version is not None and poll.version != self._version
            if moved or not only_if_moved or poll.version is None:
                if not self.query_text:  # a search shown is never re-run by a poll
                    poll.sessions, poll.rows = store.get_all_active_sessions(self.user, limit=rows + 1), rows
                    poll.total = store.count_sessions(self.user)
            if session_id is not None and (with_ttl or moved or not only_if_moved):
                self._read_session(poll, session_id, tail=moved or not only_if_moved)
            if moved or not only_if_moved or self._stats_due or self.monotonic() - self._stats_at >= STATS_SECONDS:
                self._stats_at, self._stats_due = self.monotonic(), False
                poll.stats = store.get_session_stats()
        except Exception as exc:  # shown in the stats pane's health; the next check retries
            if store.fallback_reason is None:
                self.post_message(msg.StoreActionDone(f"Store: {exc}", "error"))
        # Asked after the calls above, which are what notices an outage (or its end).
        poll.unreachable = store.fallback_reason
        self.post_message(self._Read(poll))

    def _read_session(self, poll: Poll, session_id: str, *, tail: bool) -> None:
        """In a worker: the open session's TTL, and (`tail`) its newest messages."""
        from ..sessions import SessionNotFound, StoreUnavailable

        poll.session_id = session_id
        try:
            poll.ttl = self.store.ttl(session_id)
            if tail:
                poll.tail = self.store.get_messages(session_id, -TAIL, -1)
        except SessionNotFound:  # the server answered that it is gone
            poll.gone = True
        except StoreUnavailable:  # unknown, not expired: resynced once the server answers
            poll.session_id = None

    @on(_Read)
    def _read_done(self, event: _Read) -> None:
        event.stop()
        poll = event.poll
        if poll.version is not None:
            self._version = poll.version
        self._reachability(poll.unreachable)
        if poll.sessions is not None and not self.query_text:
            self.browser.show_sessions(
                poll.sessions[:poll.rows], query="", more=len(poll.sessions) > poll.rows, total=poll.total,
            )
        for session, created in poll.changed:
            self.browser.session_changed(session, created=created)
        for session_id in poll.removed:
            self.browser.session_removed(session_id)
        if poll.session_id is not None and poll.session_id == self.session_id:
            self._session_read(poll)
        if poll.stats is not None:
            self.post_message(self.StatsRefreshed(poll.stats, self.unreachable))

    def _session_read(self, poll: Poll) -> None:
        assert poll.session_id is not None  # only called for the open session
        if poll.gone:
            self.post_message(self.SessionGone(poll.session_id))
            return
        if poll.unreachable is None:  # else the TTL read is what this machine last knew: unknown now
            self.post_message(self.TtlSynced(poll.session_id, poll.ttl))
        tail = poll.tail
        if tail is None or self.answering or not tail or tail[-1].id == self.newest_id:
            return
        ids = [m.id for m in tail]
        fresh = tail[ids.index(self.newest_id) + 1:] if self.newest_id in ids else tail
        self.newest_id = fresh[-1].id
        others = [m for m in fresh if m.id not in self._own_ids]
        self._own_ids.difference_update(m.id for m in fresh)
        if others:
            self.post_message(self.MessagesArrived(poll.session_id, others))

    def _reachability(self, unreachable: str | None) -> None:
        if unreachable == self._reason:
            return
        was_unreachable, self._reason = self.unreachable, unreachable
        self.unreachable = unreachable is not None
        self.browser.set_unreachable(unreachable)
        if was_unreachable and self.unreachable:  # still down, for another reason (e.g. a changed password)
            self.post_message(self.ReachabilityChanged(unreachable))
            return
        self.post_message(self.ReachabilityChanged(unreachable))
        if not self.unreachable:  # back: what changed meanwhile was not pushed
            self._resync()

    # -------------------------------------------------------- pushed notices
    @on(_Heard)
    def _heard(self, event: _Heard) -> None:
        event.stop()
        if event.event is None:  # (re)subscribed, or the subscription broke: read afresh
            self._resync()
            return
        self._note_change(event.event.session_id, event.event.kind)

    def _note_change(self, session_id: str, kind: str) -> None:
        """Read `session_id` again (in a worker), unless a read already queued covers it."""
        with self._lock:
            self._changed[session_id] = kind
            if self._draining:
                return  # the worker running picks it up
            self._draining = True
        self._read_changed()

    @work(thread=True, group="changed")
    def _read_changed(self) -> None:
        """Read the sessions named by notices, until none is left unread."""
        while True:
            with self._lock:
                changed, self._changed = self._changed, {}
                if not changed:
                    self._draining = False
                    return
            self._read_sessions(changed)

    def _read_sessions(self, changed: dict[str, str]) -> None:
        store, poll, open_id = self.store, Poll(), self.session_id
        try:
            for session_id, kind in changed.items():
                session = None if kind == "clear" else store.get_session(session_id)
                if session is None:
                    poll.removed.append(session_id)
                else:
                    poll.changed.append((session, kind == "create"))
                if session_id == open_id:
                    if session is None:
                        poll.session_id, poll.gone = session_id, True
                    else:
                        poll.session_id, poll.ttl = session_id, session.ttl
                        if kind == "add" and not self.answering:
                            poll.tail = store.get_messages(session_id, -TAIL, -1)
            poll.version = store.user_version(self.user)
            if self.monotonic() - self._stats_at >= STATS_AFTER_CHANGE:
                self._stats_at, self._stats_due = self.monotonic(), False
                poll.stats = store.get_session_stats()
            else:  # not again so soon: the next check brings them
                self._stats_due = True
        except Exception as exc:  # the safety check reads it again
            if store.fallback_reason is None:
                self.post_message(msg.StoreActionDone(f"Store: {exc}", "error"))
            return
        poll.unreachable = store.fallback_reason
        self.post_message(self._Read(poll))

    # ----------------------------------------------------- listing, search
    def filter(self, query: str) -> None:
        """The browser's filter settled on `query`: list (or search) from the top, once."""
        self.query_text = query
        if self._search_stop is not None:
            self._search_stop.set()  # the search for the previous text ends at its next page
            self._search_stop = None
        if query:
            self._search_stop = threading.Event()
            self._search(query, self._search_stop)
        else:
            self._list_page("", 0)

    def more(self, query: str, offset: int) -> None:
        """The browser wants the listing's rows from `offset`."""
        if query == self.query_text and not query:
            self._list_page(query, offset)

    @work(thread=True, group="listing")
    def _list_page(self, query: str, offset: int) -> None:
        size = PAGE if offset == 0 else MORE
        try:
            rows = self.store.get_all_active_sessions(self.user, limit=size + 1, offset=offset)
            total = self.store.count_sessions(self.user) if offset == 0 else None
        except Exception as exc:  # the browser keeps what it shows; scrolling asks again
            self.post_message(msg.StoreActionDone(f"Cannot list sessions: {exc}", "error"))
            return
        self.post_message(self._Listed(query, rows[:size], offset == 0, len(rows) > size, total, offset))

    @work(thread=True, group="search")
    def _search(self, query: str, stop: threading.Event) -> None:
        """Page through the user's sessions newest first, showing matches as they are found."""
        first = True
        try:
            for found in self.store.iter_search_sessions(self.user, query, page=PAGE):
                if stop.is_set():
                    return
                if found or first:
                    self.post_message(self._Listed(query, found, first, more=True))
                    first = False
        except Exception as exc:  # the search ends here; what was found stays shown
            self.post_message(msg.StoreActionDone(f"Search failed: {exc}", "error"))
        if not stop.is_set():
            self.post_message(self._Listed(query, [], first, more=False))

    @on(_Listed)
    def _listed(self, event: _Listed) -> None:
        event.stop()
        if not event.first and event.offset is not None and event.offset != len(self.browser.sessions):
            # The rows above it changed meanwhile (a resync, a new session): ask from where it is now.
            self.browser.add_sessions([], query=event.query, more=True)
            return
        if event.first:
            self.browser.show_sessions(event.sessions, query=event.query, more=event.more, total=event.total)
        else:
            self.browser.add_sessions(event.sessions, query=event.query, more=event.more, total=event.total)

    # ------------------------------------------------------------ actions
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
        if self.store.fallback_reason:  # kept locally: the server's TTL is unknown yet
            self.post_message(msg.StoreActionDone("Extended: saved locally, sent when Redis is back."))
            return
        self.post_message(self.TtlSynced(session_id, ttl))
        self.post_message(msg.StoreActionDone("Session extended."))
