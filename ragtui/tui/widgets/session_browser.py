"""The session browser: this user's sessions, most recent first, a page at a time, filterable.

The browser never touches the store. It says what it wants (`FilterChanged` once typing
pauses, `MoreWanted` when the highlight nears the end of what is loaded) and whoever owns
the store answers with `show_sessions` / `add_sessions`, or with `session_changed` /
`session_removed` when another device changed one session.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union, cast

from rich.cells import cell_len
from textual import events, on
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.css.styles import RulesMap
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ...formatting import format_ago, format_count, format_ttl
from ...safe_text import one_line
from .filter_input import FilterInput
from .text_line import TextLine

FILTER_DELAY = 0.15  # seconds of no typing before a filter is searched
LOAD_AHEAD = 30  # ask for the next page this close to the end: it is there before the user is
RETICK_SECONDS = 30.0  # "5m ago" and the TTLs shown move on without asking the store
REWRAP_SECONDS = 0.25  # how soon rows fit a pane shown or resized (no store call)
RETICK_LIMIT = 1000  # beyond this many loaded rows the list is redrawn only when it changes


class SessionRow(Content):
    """A row of the list: two lines made to fit `fits` cells. The list measures the height of
    every row again whenever one changes (~90 µs a row, wrapping its text): at the width it
    was made for, a row answers at once."""

    __slots__ = ["fits"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fits = 0

    def get_height(self, rules: RulesMap, width: int) -> int:
        return 2 if width == self.fits else super().get_height(rules, width)


def session_prompt(
    session: Any, now: float, *, current: bool, width: int = 30, ttl_known: bool = True, ttl: int | None = None
) -> Content:
    """Two lines: the title, then messages · last activity · TTL · pin.

    `ttl`: the seconds left now (default: the session's own); `ttl_known=False`: Redis is
    not answering, so the time left is unknown (`TTL ?`)."""
    mark = "● " if current else ""
    pin = " 📌" if session.pinned else ""
    title = one_line(session.title or "(untitled)", max(width - len(mark), 8))
    count = session.message_count
    left = session.ttl if ttl is None else ttl
    shown_ttl = format_ttl(left, compact=True) if ttl_known or session.pinned else "?"
    ago = format_ago(now - session.last_activity)
    messages = f"{count} msg{'s' if count != 1 else ''}"
    # The longest that fits the row, so a narrow pane keeps each row on two lines.
    fits = [f"{messages} · {ago} · TTL {shown_ttl}{pin}", f"{messages} · {ago.removesuffix(' ago')} · TTL {shown_ttl}{pin}",
            f"{count} · {ago.removesuffix(' ago')} · TTL {shown_ttl}{pin}"]
    meta = next((m for m in fits if cell_len(m) <= width), fits[-1])
    row = cast(SessionRow, SessionRow.assemble((mark, "$accent"), (title, "bold"), "\n", (meta, "dim")))
    if cell_len(mark + title) <= width and cell_len(meta) <= width:
        row.fits = width
    return row


class SessionBrowser(Vertical):
    """Lists sessions and says what the user wants done with one; never touches the store."""

    BINDINGS = [
        Binding("r", "rename", "Rename"),
        Binding("p", "toggle_pin", "Pin/unpin"),
        Binding("x", "export", "Export"),
        Binding("d,delete", "delete", "Delete"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear the filter (stops a search)"),
    ]

    @dataclass
    class SessionSelected(Message):
        session: Any

    @dataclass
    class RenameRequested(Message):
        session: Any

    @dataclass
    class PinToggled(Message):
        session: Any

    @dataclass
    class ExportRequested(Message):
        session: Any

    @dataclass
    class DeleteRequested(Message):
        session: Any

    @dataclass
    class FilterChanged(Message):
        """The filter to list by ("" = every session), once typing paused."""

        query: str

    @dataclass
    class MoreWanted(Message):
        """The next page of `query`'s listing, from `offset` (the rows loaded so far)."""

        query: str
        offset: int

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self._sessions: list[Any] = []
        self._fetched_at: dict[str, float] = {}  # when the store told us each session's TTL
        self._shown_key: tuple = ()
        self._unreachable: str | None = None  # why Redis does not answer (None: it does)
        self._shown_query = ""  # the filter the rows shown answer
        self._more = False  # the store has more rows for it (a page to load, or a search still going)
        self._asked_more = False  # a MoreWanted is out
        self._total: int | None = None
        self._enter_pending = False  # Enter was pressed before the results of the filter came
        self._filter_timer: Timer | None = None
        self._drawn_width = 0  # the row width the rows were written for
        self._typed_ahead: str | None = None  # typed after `/` before the filter got the focus
        self.current_id: str | None = None

    def compose(self):
        yield FilterInput(placeholder="filter sessions…", id="session-filter")
        # The list is mounted with the first sessions to show (once the store opens): the
        # first frame does without it, ~8 ms sooner.
        yield TextLine(id="session-count")

    def on_mount(self) -> None:
        self.set_interval(RETICK_SECONDS, self._retick)
        self.set_interval(REWRAP_SECONDS, self._rewrap)

    def _list(self) -> OptionList | None:
        lists = self.query_children(OptionList)
        return lists.first() if lists else None

    @property
    def query_text(self) -> str:
        return self.query_one("#session-filter", Input).value.strip()

    @property
    def sessions(self) -> list[Any]:
        return list(self._sessions)

    @property
    def shown_query(self) -> str:
        """The filter the rows on screen answer (it lags `query_text` while a search runs)."""
        return self._shown_query

    # ------------------------------------------------------- what is shown
    def show_sessions(
        self,
        sessions: Sequence[Any],
        *,
        query: str | None = None,
        more: bool = False,
        total: int | None = None,
    ) -> bool:
        """Show `sessions`, the first rows of `query`'s listing (None: the filter typed now),
        keeping the highlighted one highlighted; results for a filter no longer typed are
        dropped (False). `more`: the store has more rows (asked for as the user scrolls);
        `total`: how many there are, when known."""
        query = self.query_text if query is None else query
        if query != self.query_text:
            return False
        now = self._clock()
        self._shown_query, self._more, self._total, self._asked_more = query, more, total, False
        self._fetched_at = {s.id: now for s in sessions}
        self._redraw(list(sessions))
        self._after_rows_came()
        return True

    def add_sessions(
        self, sessions: Sequence[Any], *, query: str | None = None, more: bool = False, total: int | None = None
    ) -> bool:
        """Append the next rows of `query`'s listing (rows already shown are skipped)."""
        query = self.query_text if query is None else query
        if query != self._shown_query or query != self.query_text:
            return False
        now = self._clock()
        shown = set(self._fetched_at)
        fresh = [s for s in sessions if s.id not in shown]
        self._more, self._asked_more = more, False
        if total is not None:
            self._total = total
        self._fetched_at.update((s.id, now) for s in fresh)
        option_list = self._ensure_list()
        if fresh:
            self._sessions.extend(fresh)
            option_list.add_options(self._option(s, now) for s in fresh)
            if option_list.highlighted is None:
                option_list.highlighted = 0
            self._shown_key = ()  # not worked out per page: that costs O(rows loaded) each time
        self._after_rows_came()
        return True

    def session_changed(self, session: Any, *, created: bool = False) -> None:
        """Another device (or this one) changed `session` (`created`: it is new): its row
        moves to the top of the listing (most recent activity first); a filtered list
        updates it where it is."""
        rows = list(self._sessions)
        ids = [s.id for s in rows]
        if session.id in ids:
            rows[ids.index(session.id)] = session
        elif self._shown_query:
            return  # whether it matches the filter is the search's to say
        else:
            rows.insert(0, session)
            if created and self._total is not None:
                self._total += 1
        if not self._shown_query:
            rows.sort(key=lambda s: s.last_activity, reverse=True)
        self._fetched_at[session.id] = self._clock()
        self._redraw(rows)
        self._show_count()

    def session_removed(self, session_id: str) -> None:
        if session_id not in self._fetched_at:
            return
        del self._fetched_at[session_id]
        if self._total is not None:
            self._total = max(self._total - 1, 0)
        self._redraw([s for s in self._sessions if s.id != session_id])
        self._show_count()

    def set_current(self, session_id: str | None) -> None:
        """Mark the open session: its row and the one marked before are written again, in
        place (rewriting every row took ~0.15 s per 1,000 loaded)."""
        before, self.current_id = self.current_id, session_id
        option_list = self._list()
        if option_list is None:
            return
        now = self._clock()
        for index, session in enumerate(self._sessions):
            if session.id in (before, session_id):
                option_list.replace_option_prompt_at_index(index, self._prompt(session, now))
        self._shown_key = ()  # not worked out again here: that costs O(rows loaded)

    def set_unreachable(self, reason: str | None) -> None:
        """Redis does not answer (`reason` says why: the TTLs shown become `?` and the count
        says the rows are what this machine knows, as `ragtui sessions list` does), or answers
        again (None)."""
        self._unreachable = reason
        self._redraw(self._sessions)
        self._show_count()

    def _ttl_now(self, session: Any, now: float) -> int | None:
        if session.ttl is None:
            return None
        return max(int(session.ttl - (now - self._fetched_at.get(session.id, now))), 0)

    def _prompt(self, session: Any, now: float) -> Content:
        return session_prompt(
            session, now, current=session.id == self.current_id, width=self._row_width(),
            ttl_known=self._unreachable is None, ttl=self._ttl_now(session, now),
        )

    def _option(self, session: Any, now: float) -> Option:
        return Option(self._prompt(session, now), id=session.id)

    def _row_width(self) -> int:
        """The cells a row's text may take: the list's width less the rows' padding."""
        option_list = self._list()
        region = option_list.scrollable_content_region.width if option_list is not None else 0
        width = (region or self.size.width) - 2  # 1 cell of padding each side (app.tcss); less a scrollbar
        return width if width > 8 else (self._drawn_width or 28)  # hidden: as last drawn

    def _rewrap(self) -> None:
        """Rows were written for another width (or before the list had one): again. On a
        timer: a pane shown or resized does not always tell the list inside it. Not while
        the pane is hidden (F2): shown again at its width, its rows still fit."""
        option_list = self._list()
        if option_list is None or not option_list.size.width:
            return
        if self._row_width() != self._drawn_width:
            self._shown_key = ()
            self._redraw(self._sessions)

    def _key(self, sessions: Sequence[Any], now: float) -> tuple:
        return tuple(
            (s.id, s.title, s.message_count, format_ago(now - s.last_activity), format_ttl(self._ttl_now(s, now), compact=True), s.pinned)
            for s in sessions
        ) + (self.current_id, self._unreachable is None)

    def _ensure_list(self) -> OptionList:
        option_list = self._list()
        if option_list is None:
            option_list = OptionList(id="session-list")
            self.mount(option_list, before="#session-count")
            self.watch(option_list, "scroll_y", self._maybe_want_more, init=False)
        return option_list

    def _redraw(self, sessions: list[Any]) -> None:
        """Show `sessions`, keeping the highlighted one and the scroll position; no-op if
        nothing a user can see changed."""
        now = self._clock()
        key = self._key(sessions, now)
        if key == self._shown_key and self._list() is not None:
            return
        self._shown_key = key
        self._drawn_width = self._row_width()
        highlighted = self.highlighted_session
        option_list = self._ensure_list()
        scroll_y = option_list.scroll_y
        self._sessions = list(sessions)
        option_list.set_options(self._option(s, now) for s in sessions)
        ids = [s.id for s in sessions]
        if highlighted is not None and highlighted.id in ids:
            option_list.highlighted = ids.index(highlighted.id)
        elif ids:
            option_list.highlighted = 0
        option_list.scroll_to(y=scroll_y, animate=False, immediate=True)

    def _retick(self) -> None:
        if len(self._sessions) <= RETICK_LIMIT:
            self._redraw(self._sessions)

    def _show_count(self) -> None:
        n, query = len(self._sessions), self._shown_query
        if query and self._more:
            text = f"searching… {n:,} found"
        elif query:
            text = f"{n:,} match{'es' if n != 1 else ''}" if n else f"no match for “{one_line(query, 14)}”"
        elif self._unreachable is not None:
            text = format_count(n, "session") if n else "no sessions"
        elif self._total is not None and (self._more or self._total > n):
            text = f"{n:,} of {self._total:,} · ↓ for more"
        else:
            text = format_count(n, "session")
        if self._unreachable is not None and not (query and self._more):
            # not what Redis holds: what this machine knows (as `ragtui sessions list` says)
            reason = re.sub(r"\s*\([^()]*://[^()]*\)", "", self._unreachable)  # its URL: in the header
            text = f"{text} known on this machine: {one_line(reason)}"
        self.query_one("#session-count", TextLine).show(text)

    def _after_rows_came(self) -> None:
        self._show_count()
        if self._enter_pending and self._shown_query == self.query_text:
            if self._sessions:
                self._enter_pending = False
                self.post_message(self.SessionSelected(self._sessions[0]))
            elif not self._more:
                self._enter_pending = False
                self.notify(f"No session matches “{one_line(self._shown_query, 40)}”.", severity="warning")
        self._maybe_want_more()

    # -------------------------------------------------------------- paging
    @on(OptionList.OptionHighlighted, "#session-list")
    def _highlight_moved(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._maybe_want_more()

    def _maybe_want_more(self, *_: Any) -> None:
        """Ask for the next page once the highlight or the view nears the last loaded row."""
        option_list = self._list()
        if option_list is None or not self._more or self._asked_more or self._shown_query:
            return  # a search sends its matches as it finds them
        near_end = (option_list.highlighted or 0) >= len(self._sessions) - LOAD_AHEAD
        height = option_list.size.height  # 0 until laid out
        in_view = height > 0 and option_list.scroll_y + height >= option_list.max_scroll_y
        if near_end or in_view:
            self._asked_more = True
            self.post_message(self.MoreWanted(self._shown_query, len(self._sessions)))

    # -------------------------------------------------------------- filter
    @on(Input.Changed, "#session-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Search once typing pauses, not per key press."""
        event.stop()
        self._enter_pending = False
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._filter_settled)

    def _filter_settled(self) -> None:
        self._filter_timer = None
        query = self.query_text
        if query == self._shown_query:  # e.g. a space typed and removed: the rows still answer it
            self._after_rows_came()
            return
        self.query_one("#session-count", TextLine).show("searching…" if query else "loading…")
        self.post_message(self.FilterChanged(query))

    @on(Input.Submitted, "#session-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter resumes the best match of what is typed: type a few letters,
        Enter, done. While those results are still coming, it waits for the first one."""
        event.stop()
        if self._filter_timer is not None or self._shown_query != self.query_text:
            self._enter_pending = True
            return
        session = self.highlighted_session
        if session is not None:
            self.post_message(self.SessionSelected(session))
        elif self._shown_query and self._more:
            self._enter_pending = True  # the search has found nothing yet
        elif self._shown_query:
            self.notify(f"No session matches “{one_line(self._shown_query, 40)}”.", severity="warning")
        else:
            self.query("#session-list").focus()

    def key_down(self, event: events.Key) -> None:
        """Down from the filter walks into the list, onto its first row (the newest, or the
        best match), wherever the highlight was left: this key is spent (else the list,
        focused by the time the key's bindings are looked up, moved on)."""
        option_list = self._list()
        if not self.query_one("#session-filter").has_focus:
            return
        event.stop()
        if option_list is None:
            return
        if option_list.option_count:
            option_list.highlighted = 0
        option_list.focus()

    # ------------------------------------------------------------- actions
    @property
    def highlighted_session(self) -> Any | None:
        option_list = self._list()
        index = option_list.highlighted if option_list is not None else None
        if index is None or index >= len(self._sessions):
            return None
        return self._sessions[index]

    @on(OptionList.OptionSelected, "#session-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.SessionSelected(self._sessions[event.option_index]))

    def _request(self, message_type: type[SessionAction]) -> None:
        session = self.highlighted_session
        if session is None:
            self.notify("No session highlighted.", severity="warning")
            return
        self.post_message(message_type(session))

    def action_rename(self) -> None:
        self._request(SessionBrowser.RenameRequested)

    def action_toggle_pin(self) -> None:
        self._request(SessionBrowser.PinToggled)

    def action_export(self) -> None:
        self._request(SessionBrowser.ExportRequested)

    def action_delete(self) -> None:
        self._request(SessionBrowser.DeleteRequested)

    def action_focus_filter(self) -> None:
        self._typed_ahead = ""
        self.query_one("#session-filter").focus()

    def on_key(self, event: events.Key) -> None:
        """Keys read together with `/` reach the list before the focus moves (QA Q43: "/today"
        opened the Delete dialog): they are the filter's, as they would be a moment later."""
        field = self.query_one("#session-filter", Input)
        if field.has_focus or not (event.is_printable and event.character):
            return
        if event.key == "slash":  # here, not as a binding: those run after the keys read with it
            event.stop()
            self.action_focus_filter()
            return
        if self._typed_ahead is None:
            return
        event.stop()
        event.prevent_default()
        self._typed_ahead += event.character
        field.select_on_focus = False  # the focus arrives after these characters: keep them
        field.value = self._typed_ahead
        field.cursor_position = len(field.value)

    def on_descendant_focus(self) -> None:
        self._typed_ahead = None
        self.query_one("#session-filter", Input).select_on_focus = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.query_text)  # with nothing typed, Esc is the screen's
        return True

    def action_clear_filter(self) -> None:
        self.query_one("#session-filter", Input).value = ""


SessionAction = Union[
    SessionBrowser.RenameRequested, SessionBrowser.PinToggled, SessionBrowser.ExportRequested,
    SessionBrowser.DeleteRequested,
]
