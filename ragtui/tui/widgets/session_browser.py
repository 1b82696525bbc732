"""The session browser: this user's sessions, most recent first, filterable."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ...safe_text import one_line


def ago(seconds: float) -> str:
    """`just now`, `5m ago`, `3h ago`, `2d ago`."""
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"  # unreachable: the loop covers every value >= 60


def ttl_short(ttl: int | None) -> str:
    if ttl is None:
        return "∞"
    if ttl >= 3600:
        return f"{ttl // 3600}h{(ttl % 3600) // 60:02d}"
    return f"{ttl // 60}m" if ttl >= 60 else f"{ttl}s"


def session_prompt(
    session: Any, now: float, *, current: bool, width: int = 30, ttl_known: bool = True
) -> Content:
    """Two lines: the title, then messages · last activity · TTL · pin.

    `ttl_known=False`: Redis is not answering, so the time left is unknown (`TTL ?`)."""
    mark = "● " if current else ""
    pin = " 📌" if session.pinned else ""
    title = one_line(session.title or "(untitled)", width)
    count = session.message_count
    ttl = ttl_short(session.ttl) if ttl_known or session.pinned else "?"
    meta = f"{count} msg{'s' if count != 1 else ''} · {ago(max(now - session.last_activity, 0))} · TTL {ttl}{pin}"
    return Content.assemble((mark, "$accent"), (title, "bold"), "\n", (meta, "dim"))


class SessionBrowser(Vertical):
    """Lists sessions and says what the user wants done with one; never touches the store."""

    BINDINGS = [
        Binding("r", "rename", "Rename"),
        Binding("p", "toggle_pin", "Pin/unpin"),
        Binding("x", "export", "Export"),
        Binding("d,delete", "delete", "Delete"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
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
        query: str

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self._sessions: list[Any] = []
        self._shown_key: tuple = ()
        self._ttl_known = True
        self.current_id: str | None = None

    def compose(self):
        yield Input(placeholder="filter sessions…", id="session-filter")
        # The list is mounted with the first sessions to show (once the store opens): the
        # first frame does without it, ~8 ms sooner.

    def _list(self) -> OptionList | None:
        lists = self.query_children(OptionList)
        return lists.first() if lists else None

    @property
    def query_text(self) -> str:
        return self.query_one("#session-filter", Input).value.strip()

    @property
    def sessions(self) -> list[Any]:
        return list(self._sessions)

    def show_sessions(self, sessions: Sequence[Any], *, ttl_known: bool | None = None) -> None:
        """Show `sessions`, keeping the highlighted one highlighted; no-op if unchanged.
        `ttl_known=False` while Redis does not answer (None: as before)."""
        now = self._clock()
        if ttl_known is not None:
            self._ttl_known = ttl_known
        key = tuple(
            (s.id, s.title, s.message_count, ago(now - s.last_activity), ttl_short(s.ttl), s.pinned)
            for s in sessions
        ) + (self.current_id, self._ttl_known)
        if key == self._shown_key:
            return
        self._shown_key = key
        highlighted = self.highlighted_session
        option_list = self._list()
        if option_list is None:
            option_list = OptionList(id="session-list")
            self.mount(option_list)
        self._sessions = list(sessions)
        option_list.set_options(
            Option(session_prompt(s, now, current=s.id == self.current_id, ttl_known=self._ttl_known), id=s.id)
            for s in sessions
        )
        ids = [s.id for s in sessions]
        if highlighted is not None and highlighted.id in ids:
            option_list.highlighted = ids.index(highlighted.id)
        elif ids:
            option_list.highlighted = 0

    def set_current(self, session_id: str | None) -> None:
        self.current_id = session_id
        self.show_sessions(self._sessions)

    @property
    def highlighted_session(self) -> Any | None:
        option_list = self._list()
        index = option_list.highlighted if option_list is not None else None
        if index is None or index >= len(self._sessions):
            return None
        return self._sessions[index]

    @on(Input.Changed, "#session-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.FilterChanged(event.value.strip()))

    @on(Input.Submitted, "#session-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter resumes the best match: type a few letters, Enter, done."""
        event.stop()
        session = self.highlighted_session
        if session is not None:
            self.post_message(self.SessionSelected(session))
        else:
            self.query("#session-list").focus()

    def key_down(self) -> None:
        """Down from the filter walks into the list."""
        if self.query_one("#session-filter").has_focus:
            self.query("#session-list").focus()

    @on(OptionList.OptionSelected, "#session-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.SessionSelected(self._sessions[event.option_index]))

    def _request(self, message_type: type[Message]) -> None:
        session = self.highlighted_session
        if session is None:
            self.notify("No session highlighted.", severity="warning")
            return
        self.post_message(message_type(session))

    def action_rename(self) -> None:
        self._request(self.RenameRequested)

    def action_toggle_pin(self) -> None:
        self._request(self.PinToggled)

    def action_export(self) -> None:
        self._request(self.ExportRequested)

    def action_delete(self) -> None:
        self._request(self.DeleteRequested)

    def action_focus_filter(self) -> None:
        self.query_one("#session-filter").focus()
