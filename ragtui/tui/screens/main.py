"""The main screen: session browser, chat and stats, wired together here.

Panes only display and announce. The app hands the screen the store and chat service
(StoreOpened) and the model's progress. The question queue is an `Answering` that the chat
pane fills and the screen gets answered; live sync is `LiveSync`; what the browser's keys
do is in `session_actions`.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Header

from .. import messages as msg
from ..answering import Answering
from ..live_sync import LiveSync
from ..side_panes import SidePanes
from ..widgets.chat_messages import AssistantMessage
from ..widgets.chat_pane import ChatPane
from ..widgets.footer import Footer
from ..widgets.session_browser import SessionBrowser
from ..widgets.stats_pane import StatsPane
from ..widgets.ttl_countdown import TtlCountdown
from . import session_actions as actions

if TYPE_CHECKING:
    from ...config import Settings


class MainScreen(Screen):
    AUTO_FOCUS = "#prompt"  # from the first frame, not moved there after it
    BINDINGS = [
        Binding("f1", "app.help", "Help"),
        Binding("f2", "toggle_pane('browser')", "Sessions pane"),
        Binding("f3", "toggle_pane('stats')", "Stats pane"),
        Binding("f4", "app.admin", "Admin panel"),
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("ctrl+o", "sources", "Sources"),
        Binding("ctrl+t", "extend_ttl", "Extend TTL"),
        Binding("f5", "copy_answer", "Copy answer"),
        Binding("ctrl+f", "find_sessions", "Find session"),
        Binding("escape", "stop", "Stop answer", priority=True),
    ]

    def __init__(self, settings: Settings, *, clock: Callable[[], float], monotonic: Callable[[], float]) -> None:
        super().__init__()
        self.settings = settings
        self.store: Any = None  # and the chat service: handed over by StoreOpened
        self.service: Any = None
        self.answering = Answering(settings.user)
        self.browser = SessionBrowser(id="browser", clock=clock)
        self.chat = ChatPane(self.answering, id="chat", monotonic=monotonic)
        self.countdown = self.chat.countdown
        self.stats = StatsPane(id="stats")
        self.sync = LiveSync(user=settings.user, ttl=settings.ttl, monotonic=monotonic)
        self.panes = SidePanes(self, browser=self.browser, stats=self.stats, focus_chat=lambda: self.chat.prompt.focus())

    @property
    def session_id(self) -> str | None:
        return self.chat.session_id

    def compose(self):
        yield Header(icon="◆")
        with Horizontal(id="body"):
            yield self.browser
            yield self.chat
            yield self.stats
        yield Footer()
        yield self.sync

    def on_mount(self) -> None:
        self.panes.fit(self.app.size.width)

    def on_unmount(self) -> None:
        self.answering.stop()  # a generating thread would otherwise hold up the exit

    def on_resize(self, event) -> None:
        self.panes.fit(event.size.width)

    # ------------------------------------------------------- store and model
    @on(msg.StoreOpened)
    def _store_opened(self, event: msg.StoreOpened) -> None:
        event.stop()  # the app's own copy was handled before this one was sent
        self.store = self.answering.store = event.store
        self.service = self.answering.service = event.service
        self.sub_title = event.store.describe()
        self.sync.start(event.store, self.browser)
        if event.service is None:
            self.chat.show_status("no model")

    @on(msg.ModelProgress)
    def _model_progress(self, event: msg.ModelProgress) -> None:
        self.stats.show_model_status(event.step)

    @on(msg.ModelReady)
    def _model_ready(self, event: msg.ModelReady) -> None:
        self.answering.model_ready = True
        self.stats.show_model(event.model_info)
        self.stats.show_index(event.index_info)
        self._next_question()

    @on(msg.ModelFailed)
    def _model_failed(self) -> None:
        self.stats.show_model_status("failed")

    # ------------------------------------------------------------- questions
    @on(ChatPane.QuestionAsked)
    def _next_question(self) -> None:
        question = self.answering.next()
        if question is None:
            return
        question.shown.set_note("")
        self.sync.answer_started()
        self.chat.show_status("thinking…")
        self.refresh_bindings()
        run = partial(self.answering.run, question.text, self.session_id, post=self.chat.post_message,
                      on_saved=lambda message: self.sync.saved(message.id))
        self.run_worker(run, thread=True, exclusive=True, group="answer")

    async def action_regenerate(self) -> None:
        await self.chat.regenerate()

    @on(msg.AnswerStarted)
    def _answer_started(self, event: msg.AnswerStarted) -> None:
        if event.session_id != self.session_id:
            self._set_session(event.session_id, title=event.question, ttl=self.settings.ttl or None)

    @on(msg.AnswerFinished)
    def _answer_finished(self, event: msg.AnswerFinished) -> None:
        if self.service is not None and event.answer.completion_tokens:  # "nothing found" generated nothing
            self.stats.show_model(dict(self.service.model_info), event.answer)
        self._answered()

    @on(msg.AnswerFailed)
    def _answer_failed(self) -> None:
        self._answered()
        self.sync.poll()  # the session may be gone: ask the server before saying so

    def _answered(self) -> None:
        self.answering.done()
        self.sync.answer_ended()
        self.refresh_bindings()
        self._next_question()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.answering.generating  # Esc belongs to the focused widget otherwise
        return True

    def action_stop(self) -> None:
        self.answering.stop()
        self.chat.show_status("stopping…")

    # -------------------------------------------------------------- sessions
    def _set_session(self, session_id: str | None, title: str = "", ttl: int | None = None) -> None:
        """Open `session_id` (None: none) titled `title`, counting down from `ttl` seconds."""
        self.chat.open_session(session_id, title, ttl, ttl_known=not self.sync.unreachable)
        self.sync.follow(session_id)
        self.browser.set_current(session_id)

    async def action_new_chat(self) -> None:
        if self.answering.generating:
            self.notify("Stop the answer first (Esc).", severity="warning")
            return
        self._set_session(None)
        await self.chat.clear()
        self.answering.last_question = None
        self.chat.prompt.focus()

    @on(SessionBrowser.SessionSelected)
    def _resume(self, event: SessionBrowser.SessionSelected) -> None:
        if self.answering.generating:
            self.notify("Stop the answer first (Esc).", severity="warning")
            return
        self._in_thread(partial(actions.load, self.store, event.session.id))  # -> SessionLoaded

    @on(ChatPane.EarlierRequested)
    def _earlier_requested(self) -> None:
        if self.session_id is not None and self.chat.hidden_before > 0:
            self._in_thread(partial(actions.load_earlier, self.store, self.session_id, self.chat.hidden_before))

    def _in_thread(self, load: Callable[[], Any]) -> None:
        """Run a store call in a worker; what it returns goes to the chat (then to this screen)."""
        self.run_worker(lambda: self.chat.post_message(load()), thread=True, exclusive=True, group="load")

    @on(msg.SessionLoaded)
    def _session_loaded(self, event: msg.SessionLoaded) -> None:
        session, messages = event.session, event.messages
        self._set_session(session.id, title=session.title, ttl=session.ttl)
        self.sync.follow(session.id, newest_id=event.newest_id)
        self.answering.last_question = next((m.content for m in reversed(messages) if m.role == "user"), None)
        self.panes.close_over_chat()

    @on(SessionBrowser.FilterChanged)
    def _filter_changed(self, event: SessionBrowser.FilterChanged) -> None:
        self.sync.filter(event.query)

    @on(SessionBrowser.MoreWanted)
    def _more_wanted(self, event: SessionBrowser.MoreWanted) -> None:
        self.sync.more(event.query, event.offset)

    def action_find_sessions(self) -> None:
        if not self.browser.display:
            self.action_toggle_pane("browser")
        self.browser.action_focus_filter()

    @on(SessionBrowser.RenameRequested)
    @on(SessionBrowser.PinToggled)
    @on(SessionBrowser.ExportRequested)
    @on(SessionBrowser.DeleteRequested)
    def _session_action(self, event: SessionBrowser.RenameRequested) -> None:
        actions.requested(self, self.store, event, data_dir=self.settings.data_dir, before_delete=self._leave)

    def _leave(self, session_id: str) -> None:
        if session_id == self.session_id:
            self.run_worker(self.action_new_chat())

    @on(msg.StoreActionDone)
    def _store_action_done(self, event: msg.StoreActionDone) -> None:
        self.notify(event.note, severity=event.severity, markup=False)
        self.sync.poll()

    # ------------------------------------------------------ TTL and live sync
    def action_extend_ttl(self) -> None:
        if self.session_id is None:
            self.notify("No session yet: ask a question first.", severity="warning")
            return
        self.sync.extend(self.session_id)

    @on(TtlCountdown.Expired)
    def _countdown_expired(self) -> None:
        self.sync.poll()  # ask the server before telling the user

    @on(LiveSync.TtlSynced)
    def _ttl_synced(self, event: LiveSync.TtlSynced) -> None:
        if event.session_id == self.session_id:
            self.countdown.sync(event.ttl)

    @on(LiveSync.SessionGone)
    async def _session_gone(self, event: LiveSync.SessionGone) -> None:
        if event.session_id == self.session_id:  # said once: the session is closed now
            self._set_session(None)
            await self.chat.say_expired()

    @on(LiveSync.MessagesArrived)
    async def _messages_arrived(self, event: LiveSync.MessagesArrived) -> None:
        if event.session_id == self.session_id:
            await self.chat.append_messages(event.messages)

    @on(LiveSync.ReachabilityChanged)
    def _reachability_changed(self, event: LiveSync.ReachabilityChanged) -> None:
        self.sub_title = self.store.describe()
        if event.unreachable is None:
            self.notify("The store answers again: everything saved meanwhile is being sent.", markup=False)
            return
        if self.session_id is not None:
            self.countdown.mark_unknown()
        self.stats.mark_unreachable()
        self.notify(f"{event.unreachable}. What you write is saved on this machine and sent when it is back.",
                    title="Store unreachable", severity="warning", markup=False)

    @on(LiveSync.StatsRefreshed)
    def _stats_refreshed(self, event: LiveSync.StatsRefreshed) -> None:
        self.stats.show_store(event.stats, unreachable=event.unreachable)
        self.sub_title = self.store.describe()

    # ------------------------------------------------------------ the rest
    def action_toggle_pane(self, pane_id: str) -> None:
        self.panes.toggle(self.query_one(f"#{pane_id}"))

    def action_sources(self) -> None:
        self.chat.open_sources()

    @on(AssistantMessage.SourcesRequested)
    def _sources_requested(self, event: AssistantMessage.SourcesRequested) -> None:
        from .sources import SourcesScreen

        self.app.push_screen(SourcesScreen(event.sources))

    def action_copy_answer(self) -> None:
        self.chat.copy_answer()
