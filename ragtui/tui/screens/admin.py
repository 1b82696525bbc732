"""The admin panel: every user's active sessions, with operator actions. Keyboard only."""
from __future__ import annotations

from typing import Any

from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from .. import messages as msg
from ..exporting import choose_format_and_export, run_store_action
from ...safe_text import one_line
from ..widgets.session_browser import ago, ttl_short
from ..widgets.stats_pane import human_bytes
from .dialogs import ConfirmDialog
from .session_view import SessionViewScreen

REFRESH_SECONDS = 1.0
LIMIT = 500  # rows fetched per refresh; the totals line counts them all

# (column label, key of the sort, newest/largest first?)
SORTS = [
    ("last activity", lambda s: s.last_activity, True),
    ("user", lambda s: (s.user_id, -s.last_activity), False),
    ("messages", lambda s: s.message_count, True),
    ("TTL", lambda s: float("inf") if s.ttl is None else s.ttl, False),
    ("title", lambda s: s.title.casefold(), False),
]
COLUMNS = ("user", "session", "title", "messages", "last activity", "TTL")


def matches(session: Any, needle: str) -> bool:
    needle = needle.casefold()
    return any(needle in str(v).casefold() for v in (session.user_id, session.id, session.title))


class AdminScreen(Screen):
    BINDINGS = [
        Binding("escape,f4", "back", "Back"),
        Binding("e", "extend", "Extend"),
        Binding("c", "clear", "Clear"),
        Binding("x", "export", "Export"),
        Binding("o", "open", "Open (read-only)"),
        Binding("s", "sort", "Sort"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._sessions: list[Any] = []
        self._sort = 0
        self._worker = None

    def compose(self):
        yield Header(icon="◆")
        yield Static("Loading sessions…", id="admin-totals", markup=False)
        with Horizontal(id="admin-filter-row"):
            yield Input(placeholder="filter by user, session or title…", id="admin-filter")
        table = DataTable(id="admin-table", cursor_type="row", zebra_stripes=True)
        for label in COLUMNS:
            table.add_column(label, key=label)
        yield table
        yield Static("", id="admin-memory", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "admin — all users' active sessions"
        self.query_one(DataTable).focus()
        self.set_interval(REFRESH_SECONDS, self._refresh)
        self._refresh()

    def _refresh(self) -> None:
        if self.app.store is None or (self._worker is not None and self._worker.is_running):
            return
        self._worker = self._fetch()

    @work(thread=True, group="admin")
    def _fetch(self) -> None:
        store = self.app.store
        try:
            sessions = store.get_all_active_sessions(user_id=None, limit=LIMIT)
            stats = store.get_session_stats()
        except Exception as exc:  # shown on screen; the next refresh retries
            self.post_message(msg.StoreActionDone(f"Store: {exc}", "error"))
            return
        self.post_message(msg.AdminSessionsListed(sessions, stats))

    @on(msg.AdminSessionsListed)
    def _listed(self, event: msg.AdminSessionsListed) -> None:
        self._sessions = event.sessions
        self._show_table()
        stats = event.stats
        users = len({s.user_id for s in event.sessions})
        self.query_one("#admin-totals", Static).update(
            f"{stats.sessions:,} active sessions · {stats.messages:,} messages · {users} users · "
            f"{stats.backend} ({stats.health}) · sorted by {SORTS[self._sort][0]}"
        )
        self.query_one("#admin-memory", Static).update(self._memory_excerpt(stats))

    @staticmethod
    def _memory_excerpt(stats: Any) -> str:
        server = stats.server or {}
        parts = [f"memory used {human_bytes(stats.memory_bytes)}"]
        for key in ("used_memory_peak_human", "maxmemory_human", "connected_clients", "redis_version"):
            if key in server:
                parts.append(f"{key} {server[key]}")
        return "INFO memory: " + " · ".join(parts)

    def _visible(self) -> list[Any]:
        needle = self.query_one("#admin-filter", Input).value.strip()
        rows = [s for s in self._sessions if not needle or matches(s, needle)]
        _, key, newest_first = SORTS[self._sort]
        return sorted(rows, key=key, reverse=newest_first)

    def _show_table(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_session
        now = self.app.clock()
        table.clear()
        for s in self._visible():
            table.add_row(
                Content(one_line(s.user_id, 16)),
                s.id[:8],
                Content(one_line(s.title or "(untitled)", 40)),
                str(s.message_count),
                ago(max(now - s.last_activity, 0)),
                ttl_short(s.ttl),
                key=s.id,
            )
        if selected is not None and selected.id in table.rows:
            table.move_cursor(row=table.get_row_index(selected.id))

    @property
    def selected_session(self) -> Any | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # cursor outside the table after a refresh emptied it
            return None
        return next((s for s in self._sessions if s.id == key), None)

    def _need_selection(self) -> Any | None:
        session = self.selected_session
        if session is None:
            self.notify("No session selected.", severity="warning")
        return session

    @on(Input.Changed, "#admin-filter")
    def _filter_changed(self) -> None:
        self._show_table()

    @on(Input.Submitted, "#admin-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#admin-filter").focus()

    def action_sort(self) -> None:
        self._sort = (self._sort + 1) % len(SORTS)
        self.notify(f"Sorted by {SORTS[self._sort][0]}.")
        self._show_table()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_extend(self) -> None:
        if session := self._need_selection():
            run_store_action(self, lambda: self.app.store.extend_session(session.id), "Extended.")

    def action_clear(self) -> None:
        session = self._need_selection()
        if session is None:
            return

        def clear(yes: bool | None) -> None:
            if yes:
                run_store_action(self, lambda: self.app.store.clear_session(session.id), "Session cleared.")

        self.app.push_screen(
            ConfirmDialog(f"Clear {session.user_id}'s session “{one_line(session.title, 40)}”?"), clear
        )

    def action_export(self) -> None:
        session = self._need_selection()
        if session is not None:
            choose_format_and_export(self, self.app.store, session.id, self.app.settings.data_dir)

    @on(msg.StoreActionDone)
    def _action_done(self, event: msg.StoreActionDone) -> None:
        self.notify(event.note, severity=event.severity, markup=False)
        self._refresh()

    def action_open(self) -> None:
        if session := self._need_selection():
            self.app.push_screen(SessionViewScreen(session))

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()
