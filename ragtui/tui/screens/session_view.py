"""A session opened read-only (from the admin panel): its messages, no input."""
from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ...conversation import conversation_order
from ...formatting import format_count
from ...safe_text import one_line
from ...sessions.api import SessionStoreAPI
from ...sessions.models import Message, Session
from ..widgets.chat_messages import AssistantMessage, UserMessage
from .sources import SourcesScreen

SHOWN = 200  # newest messages shown; export the session for the rest


class SessionViewScreen(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, session: Session, store: SessionStoreAPI) -> None:
        super().__init__()
        self._session = session
        self._store = store

    def compose(self):
        yield Header(icon="◆")
        with VerticalScroll(id="session-view", can_focus=True) as scroll:
            scroll.border_title = "read-only"
            yield Static("Loading…", id="session-view-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"read-only: {one_line(self._session.title, 50)} ({self._session.user_id})"
        self.query_one("#session-view").focus()
        self._load()

    @work(thread=True, exclusive=True, group="session-view")
    def _load(self) -> None:
        try:
            messages = conversation_order(self._store.get_messages(self._session.id, -SHOWN, -1))
        except Exception as exc:  # expired or store down: say so in place
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._show, messages)

    def _show_error(self, error: str) -> None:
        self.query_one("#session-view-status", Static).update(f"Cannot read this session: {error}")

    def _show(self, messages: list[Message]) -> None:
        total = self._session.message_count
        status = self.query_one("#session-view-status", Static)
        hidden = max(total - len(messages), 0)
        status.update(format_count(total, "message") + (f"; the oldest {hidden:,} are not shown" if hidden else "")
                      + (f" · model {one_line(self._session.model, 60)}" if self._session.model else ""))
        widgets = [
            AssistantMessage.stored(m) if m.role == "assistant" else UserMessage(m.content)
            for m in messages
            if m.role in ("user", "assistant")
        ]
        self.query_one("#session-view").mount_all(widgets)

    @on(AssistantMessage.SourcesRequested)
    def _sources(self, event: AssistantMessage.SourcesRequested) -> None:
        self.app.push_screen(SourcesScreen(event.sources))
