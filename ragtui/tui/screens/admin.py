"""The admin panel: every user's active sessions, a page at a time, with operator actions.
Keyboard only.

Whatever the store holds, one refresh reads one page of rows and the store's counters,
so it costs the same at 200 sessions and at 200,000; the filter is searched by the store
(every session, not only the rows loaded). Reads run in a worker; a page, a refresh or a
page turn updates only the cells that changed, in place: the cursor and the scroll
position stay where the operator left them, and a key never waits for the table to be
built again.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, cast

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Horizontal
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import DataTable, Header, Input
from textual.widgets.data_table import ColumnKey

from .. import messages as msg
from ..exporting import run_store_action
from ...formatting import format_ago, format_bytes, format_count, format_ttl
from ...sessions import AccessDenied
from ...safe_text import one_line
from ..widgets.footer import Footer
from ..widgets.filter_input import FilterInput
from ..widgets.text_line import TextLine
from .dialogs import ConfirmDialog, choose_format_and_export
from .session_view import SessionViewScreen

if TYPE_CHECKING:
    from textual.timer import Timer
    from textual.worker import Worker

    from ...sessions import SessionStoreAPI
    from ..app import RagTuiApp

REFRESH_SECONDS = 2.0
PAGE = 100  # rows per page: what one refresh reads
FILTER_DELAY = 0.2  # seconds of no typing before the store is searched
TITLE_WIDTH = 60  # titles longer than this end in "…" (the store keeps up to 80 characters)

# (label, key of the sort, largest first?). The store lists everyone's sessions newest
# first; the other orders sort the page shown (the store keeps no index for them).
SORTS: list[tuple[str, Callable[[Any], Any] | None, bool]] = [
    ("newest first", None, False),
    ("user, within this page", lambda s: (s.user_id, -s.last_activity), False),
    ("messages, within this page", lambda s: s.message_count, True),
    ("TTL, within this page", lambda s: float("inf") if s.ttl is None else s.ttl, False),
    ("title, within this page", lambda s: s.title.casefold(), False),
    ("last activity, within this page", lambda s: s.last_activity, True),
]
COLUMNS = ("user", "session", "title", "messages", "last activity", "TTL")


class SessionTable(DataTable):
    """A DataTable whose lines stay cached while the cursor moves.

    The stock table keys each rendered line on the cursor's coordinate, so when the cursor
    scrolls the view, every line on screen is rendered again (~half of a 15 ms frame at
    160×50): a key pressed meanwhile waits. With a row cursor a line only depends on
    whether the cursor (or the mouse) is on its row. Rows are one line high here.

    Home and End go to the first and last row (the stock table's scroll sideways, as ← and
    → still do). Bound here: the focused table's keys come before its screen's.
    """

    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._lines: LRUCache[tuple, Strip] = LRUCache(1000)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        row = y - (self.header_height if self.show_header else 0)
        key = (y, x1, x2, self.size.width, row == self.cursor_row, row == self.hover_row, base_style,
               self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = super()._render_line(y, x1, x2, base_style)
        return line


class AdminScreen(Screen):
    # Focused from the first frame: each focus change rebuilds the footer (10-60 ms), and the
    # first keys pressed waited behind those rebuilds.
    AUTO_FOCUS = "#admin-table"
    BINDINGS = [
        Binding("escape,f4", "back", "Back"),
        Binding("e", "extend", "Extend"),
        Binding("c", "clear", "Clear"),
        Binding("x", "export", "Export"),
        Binding("o", "open", "Open (read-only)"),
        Binding("s", "sort", "Sort"),
        Binding("n", "next_page", "Next page"),
        Binding("b", "previous_page", "Prev page"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._sessions: list[Any] = []  # the page shown, in the store's order
        self._rows: list[Any] = []  # the same, in the table's order (sorted)
        self._cells: list[tuple] = []  # what each row of the table shows
        self._offset = 0  # of the page shown, in the listing (or the filter's matches)
        self._more = False  # rows after this page
        self._query = ""  # the filter the page answers
        self._sort = 0
        self._stats: Any = None
        self._worker: Worker | None = None
        self._wanted = ("", 0)  # the (filter, offset) of the last read asked for
        self._filter_timer: Timer | None = None
        self._filter_started = False  # typing on the table started a filter; its focus is on the way
        self._slash_typed = False  # `/` asked for the filter; its focus is on the way
        self._pages: dict[tuple[str, int], tuple[list[Any], Any]] = {}  # (filter, offset) -> (rows, stats)

    def compose(self):
        yield Header(icon="◆")
        yield TextLine("Loading sessions…", id="admin-totals")
        with Horizontal(id="admin-filter-row"):
            yield FilterInput(placeholder="/ to filter by user, session or title (searches every session)…",
                        id="admin-filter")
        table = SessionTable(id="admin-table", zebra_stripes=True)
        for label in COLUMNS:
            table.add_column(label, key=label)
        yield table
        yield TextLine(id="admin-memory")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "admin — all users' active sessions"
        self.set_interval(REFRESH_SECONDS, self._refresh)
        self._refresh()

    @on(msg.StoreOpened)
    def _store_opened(self, event: msg.StoreOpened) -> None:
        """The app opened on this panel (`--admin`) and the store is open now: read it."""
        event.stop()
        self._refresh()

    @property
    def _app(self) -> RagTuiApp:
        return cast("RagTuiApp", self.app)

    @property
    def _store(self) -> SessionStoreAPI:
        """The store; rows (hence reads and actions) exist only once it is open."""
        store = self._app.store
        assert store is not None
        return store

    @property
    def _filter_text(self) -> str:
        return self.query_one("#admin-filter", Input).value.strip()

    # ---------------------------------------------------------- the store
    def _refresh(self, offset: int | None = None) -> None:
        """Read the page at `offset` (default: the one shown) again, unless a read is out or
        another screen is on top (the chat of `--admin`, a dialog: read when back)."""
        if self._app.store is None or (self._worker is not None and self._worker.is_running):
            return
        if not self.is_current and offset is None:
            return
        self._wanted = (self._filter_text, self._offset if offset is None else offset)
        self._worker = self._fetch(*self._wanted)

    def _read(self, query: str, offset: int) -> tuple[list[Any], Any]:
        """The page at `offset` (and one row more, to know whether another page follows) and
        the totals."""
        store = self._store
        if query:
            rows = store.find_sessions(query, limit=PAGE + 1, offset=offset)
        else:
            rows = store.get_all_active_sessions(user_id=None, limit=PAGE + 1, offset=offset)
        return rows, store.get_session_stats()

    @work(thread=True, group="admin")
    def _fetch(self, query: str, offset: int) -> None:
        try:
            rows, stats = self._read(query, offset)
        except AccessDenied as exc:  # a Redis user confined to its own keys: say so where the totals go
            self.app.call_from_thread(self.query_one("#admin-totals", TextLine).show,
                                      f"This Redis user may not see every user's sessions: {one_line(str(exc))}")
            return
        except Exception as exc:  # shown on screen; the next refresh retries
            self.post_message(msg.StoreActionDone(f"Store: {exc}", "error"))
            return
        self.app.call_from_thread(self._show_page, query, offset, rows, stats)

    @work(thread=True, group="admin-ahead", exclusive=True)
    def _read_ahead(self, query: str, offset: int) -> None:
        """Read the next page before it is asked for: `n` shows it at once (then reads it again)."""
        try:
            page = self._read(query, offset)
        except Exception:  # noqa: BLE001 — the page is read when turned to, errors shown then
            return
        self.app.call_from_thread(self._pages.__setitem__, (query, offset), page)

    def _show_page(self, query: str, offset: int, rows: list[Any], stats: Any) -> None:
        if (query, offset) != self._wanted:
            return  # the filter or the page changed meanwhile: its own read is on the way
        if offset > 0 and not rows:  # the page emptied (sessions ended): show the one before
            self._refresh(max(offset - PAGE, 0))
            return
        self._query, self._offset, self._more = query, offset, len(rows) > PAGE
        # Pages read, kept for `n` and `b`: this one and its neighbours, of this filter.
        self._pages = {key: page for key, page in self._pages.items()
                       if key[0] == query and abs(key[1] - offset) <= PAGE}
        self._pages[(query, offset)] = (rows, stats)
        if self._more and (query, offset + PAGE) not in self._pages:
            self._read_ahead(query, offset + PAGE)
        selected = self.selected_session
        self._sessions = rows[:PAGE]
        self._stats = stats
        user = self._store.user
        self.sub_title = ("admin — all users' active sessions" if user is None else
                          f"admin — {one_line(user, 30)}'s sessions only (ragtui --admin shows everyone's)")
        self._show_table(selected)
        self._show_totals()
        self.query_one("#admin-memory", TextLine).show(self._memory_excerpt(stats))

    def _show_totals(self) -> None:
        stats, n = self._stats, len(self._sessions)
        first, last = (self._offset + 1, self._offset + n) if n else (0, 0)
        users = getattr(stats, "users", None)
        if self._query and not n:
            where = f"no match for “{one_line(self._query, 30)}”"
        elif self._query:
            where = f"matches {first:,}–{last:,}{'+' if self._more else ''} for “{one_line(self._query, 30)}”"
        else:
            where = f"rows {first:,}–{last:,} of {stats.sessions:,}"
        self.query_one("#admin-totals", TextLine).show(
            f"{format_count(stats.sessions, 'active session')} · {format_count(stats.messages, 'message')}"
            + (f" · {format_count(users, 'user')}" if users is not None else "")
            + f" · {stats.backend} ({stats.health}) · {where} · {SORTS[self._sort][0]}"
        )

    @staticmethod
    def _memory_excerpt(stats: Any) -> str:
        server = stats.server or {}
        parts = [f"memory used {format_bytes(stats.memory_bytes)}"]
        for key in ("used_memory_peak_human", "maxmemory_human", "connected_clients", "redis_version"):
            if key in server:
                parts.append(f"{key} {server[key]}")
        return "INFO memory: " + " · ".join(parts)

    # ----------------------------------------------------------- the table
    def _visible(self) -> list[Any]:
        _, key, largest_first = SORTS[self._sort]
        return self._sessions if key is None else sorted(self._sessions, key=key, reverse=largest_first)

    def _row_cells(self, s: Any, now: float) -> tuple:
        return (
            Text(one_line(s.user_id)),
            s.id[:8],
            Text(one_line(s.title or "(untitled)", TITLE_WIDTH)),
            str(s.message_count),
            format_ago(now - s.last_activity),
            format_ttl(s.ttl, compact=True),
        )

    def _show_table(self, selected: Any | None = None) -> None:
        """Show the page (rows keyed by position): only the cells that changed are written,
        so the cursor and the scroll position stay; the cursor follows `selected` (the
        session it was on) when that session moved within the page."""
        table = self.query_one(DataTable)
        now = self._app.clock()
        rows = self._visible()
        cells = [self._row_cells(s, now) for s in rows]
        for index, row in enumerate(cells):
            if index >= len(self._cells):
                table.add_row(*row, key=str(index))
                continue
            for column, old, new in zip(COLUMNS, self._cells[index], row):
                if old != new:
                    # A wider cell widens its column; measuring a narrower one would make
                    # the table measure the whole column again (the column keeps its width).
                    wider = cell_len(str(new)) > table.columns[ColumnKey(column)].content_width
                    table.update_cell(str(index), column, new, update_width=wider)
        for index in range(len(cells), len(self._cells)):
            table.remove_row(str(index))
        self._rows, self._cells = rows, cells
        ids = [s.id for s in rows]
        if selected is not None and selected.id in ids:
            table.move_cursor(row=ids.index(selected.id), scroll=False)

    @property
    def selected_session(self) -> Any | None:
        row = self.query_one(DataTable).cursor_row
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def _need_selection(self) -> Any | None:
        session = self.selected_session
        if session is None:
            self.notify("No session selected.", severity="warning")
        return session

    # ------------------------------------------------------------- keys
    @on(Input.Changed, "#admin-filter")
    def _filter_changed(self) -> None:
        """Search the store once typing pauses, from the first match."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._filter_settled)

    def _filter_settled(self) -> None:
        self._filter_timer = None
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()  # its rows answer an older filter: dropped when they come
        self._worker = None
        self._refresh(0)

    @on(Input.Submitted, "#admin-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_filter(self) -> None:
        field = self.query_one("#admin-filter", Input)
        field.select_on_focus = True  # what is typed replaces the filter; arrows keep it
        self._slash_typed = True  # keys read with the slash, before the focus moves, are the filter's
        field.focus()

    def on_key(self, event: events.Key) -> None:
        """A character typed on the table that is not one of the panel's keys starts a new
        filter with it (`/` edits the filter)."""
        if not (event.is_printable and event.character and isinstance(self.focused, DataTable)):
            return
        if event.key == "slash":  # here, not as a binding: those run after the keys read with it
            event.stop()
            self.action_filter()
            return
        field = self.query_one("#admin-filter", Input)
        if self._filter_started:  # typed before the focus moved there: the filter's, keys or not
            event.stop()
            field.insert_text_at_cursor(event.character)
        elif self._slash_typed or event.key not in self.active_bindings:
            event.stop()
            self._filter_started = True
            field.select_on_focus = False  # the focus arrives after this character: keep it
            field.value = event.character
            field.cursor_position = len(field.value)
            field.focus()

    def on_descendant_focus(self) -> None:
        self._filter_started = self._slash_typed = False

    def action_sort(self) -> None:
        selected = self.selected_session
        self._sort = (self._sort + 1) % len(SORTS)
        self._show_table(selected)
        if self._stats is not None:
            self._show_totals()  # it names the order
        if self._stats is not None:
            self._show_totals()

    def action_next_page(self) -> None:
        if not self._more:
            self.notify("This is the last page.", severity="warning")
            return
        self._turn_page(self._offset + PAGE)

    def action_previous_page(self) -> None:
        if self._offset == 0:
            self.notify("This is the first page.", severity="warning")
            return
        self._turn_page(max(self._offset - PAGE, 0))

    def _turn_page(self, offset: int) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()
        self._worker = None
        page = self._pages.get((self._query, offset))
        if page is not None:  # read before: shown at once, and read again
            self._wanted = (self._query, offset)
            self._show_page(self._query, offset, *page)
        self._refresh(offset)

    async def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:  # the app opened on this panel (--admin)
            await self._app.show_chat()

    def action_extend(self) -> None:
        if session := self._need_selection():
            run_store_action(self, lambda: self._store.extend_session(session.id), "Extended.")

    def action_clear(self) -> None:
        session = self._need_selection()
        if session is None:
            return

        def clear(yes: bool | None) -> None:
            if yes:
                run_store_action(self, lambda: self._store.clear_session(session.id), "Session cleared.")

        self.app.push_screen(
            ConfirmDialog(f"Clear {session.user_id}'s session “{one_line(session.title, 40)}”?"), clear
        )

    def action_export(self) -> None:
        session = self._need_selection()
        if session is not None:
            choose_format_and_export(self, self._store, session.id, self._app.settings.data_dir)

    @on(msg.StoreActionDone)
    def _action_done(self, event: msg.StoreActionDone) -> None:
        self.notify(event.note, severity=event.severity, markup=False)
        self._refresh()

    def action_open(self) -> None:
        if session := self._need_selection():
            self.app.push_screen(SessionViewScreen(session, self._store))

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()
