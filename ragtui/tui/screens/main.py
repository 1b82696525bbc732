"""The main screen: session browser, chat and stats, wired together here.

Panes only display and announce; this screen owns the conversation state and runs
every store and model call in a thread worker, hearing back through messages.
"""
from __future__ import annotations

import gc
import threading
from collections import deque
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from .. import messages as msg
from ..live_sync import LiveSync
from ..exporting import choose_format_and_export, run_store_action
from ..widgets.chat_messages import AssistantMessage, UserMessage
from ..widgets.chat_pane import ChatPane
from ..widgets.footer import Footer
from ..widgets.session_browser import SessionBrowser
from ..widgets.stats_pane import StatsPane
from ..widgets.ttl_countdown import TtlCountdown

if TYPE_CHECKING:
    from ..widgets.streaming_answer import StreamingAnswer
# Dialogs, the sources view and the streaming answer's Markdown are imported when first
# needed: the first frame does without them.

# Streamed tokens reach the answer on a timer, a few per update: one message per token
# kept the UI thread parsing and laying out between key presses (p99 key latency 278 ms).
TOKEN_SECONDS = 0.04
PAGE = 20  # messages mounted at a time: a 1,000-message session opens at once
NARROW_STATS = 110  # below this width the stats pane starts hidden
NARROW_BROWSER = 70


class MainScreen(Screen):
    AUTO_FOCUS = "#prompt"  # from the first frame, not moved there after it
    BINDINGS = [
        Binding("f1", "app.help", "Help"),
        Binding("f2", "toggle_browser", "Sessions pane"),
        Binding("f3", "toggle_stats", "Stats pane"),
        Binding("f4", "app.admin", "Admin panel"),
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("ctrl+o", "sources", "Sources"),
        Binding("ctrl+t", "extend_ttl", "Extend TTL"),
        Binding("f5", "copy_answer", "Copy answer"),
        Binding("ctrl+f", "find_sessions", "Find session"),
        Binding("escape", "stop", "Stop answer", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session_id: str | None = None
        self.generating = False
        self.model_ready = False
        self._stop = threading.Event()
        self._queue: deque[tuple[str, UserMessage | None]] = deque()
        self._question: UserMessage | None = None  # the question being answered, as shown
        self._answer: StreamingAnswer | None = None
        self._tokens: deque[str] = deque()  # written by the generating thread, read on a timer
        self._token_timer = None
        self._last_question: str | None = None
        self._last_answer: Any = None
        self._shown_from = 0  # index of the oldest message on screen
        self._user_toggled: set[str] = set()

    # ------------------------------------------------------------------ layout
    def compose(self):
        yield Header(icon="◆")
        with Horizontal(id="body"):
            yield SessionBrowser(id="browser", clock=self.app.clock)
            with Vertical(id="centre"):
                with Horizontal(id="status-bar"):
                    yield Static("", id="session-title", markup=False)
                    yield Static("connecting to the store…", id="model-status", markup=False)
                    yield TtlCountdown(id="ttl", clock=self.app.monotonic)
                yield ChatPane(id="chat")
            yield StatsPane(id="stats")
        yield Footer()
        # Kept by reference: the answer's thread tells it what was saved, also while the app exits.
        self.sync = LiveSync(user=self.app.settings.user, ttl=self.app.settings.ttl, monotonic=self.app.monotonic)
        yield self.sync

    @property
    def store(self):
        return self.app.store

    @property
    def service(self):
        return self.app.chat_service

    @property
    def chat(self) -> ChatPane:
        return self.query_one(ChatPane)

    @property
    def browser(self) -> SessionBrowser:
        return self.query_one(SessionBrowser)

    @property
    def stats(self) -> StatsPane:
        return self.query_one(StatsPane)

    @property
    def countdown(self) -> TtlCountdown:
        return self.query_one(TtlCountdown)

    def on_mount(self) -> None:
        self._fit_panes(self.app.size.width)
        if self.store is None:
            # After the first frame: the worker's imports compete with it for the GIL.
            self.call_after_refresh(self._connect)
        else:
            self.post_message(msg.StoreOpened(self.store, self.service))

    def on_unmount(self) -> None:
        self.cancel_generation()  # a generating thread would otherwise hold up the exit

    def on_resize(self, event) -> None:
        self._fit_panes(event.size.width)

    def _fit_panes(self, width: int) -> None:
        """Hide side panes on narrow terminals, unless the user chose otherwise."""
        if "stats" not in self._user_toggled:
            self.stats.display = width >= NARROW_STATS
        if "browser" not in self._user_toggled:
            self.browser.display = width >= NARROW_BROWSER

    def _set_status(self, text: str) -> None:
        self.query_one("#model-status", Static).update(text)

    # ------------------------------------------------------- store and model
    @work(thread=True, exclusive=True, group="connect")
    def _connect(self) -> None:
        try:
            store, service = self.app.connect()
        except Exception as exc:  # any failure here must reach the user, not a traceback
            self.post_message(msg.StoreFailed(str(exc)))
            return
        self.post_message(msg.StoreOpened(store, service))

    @on(msg.StoreOpened)
    def _store_opened(self, event: msg.StoreOpened) -> None:
        self.app.store, self.app.chat_service = event.store, event.service
        self.app.sub_title = event.store.describe()
        if event.store.backend == "memory":
            self.app.notify(
                "Sessions are kept in memory only: this chat is lost when you quit. "
                "Use --store local or redis to keep it.",
                title="Nothing is kept",
                severity="warning",
                timeout=15,
            )
        self.sync.start(event.store)
        if event.service is None:
            self._set_status("no model")
            return
        self._set_status("loading the model…")
        self._load_model()

    @on(msg.StoreFailed)
    def _store_failed(self, event: msg.StoreFailed) -> None:
        # Without a store nothing typed here could be kept: don't pretend to take questions.
        self.app.refuse_to_start(event.error)

    @work(thread=True, exclusive=True, group="model")
    def _load_model(self) -> None:
        try:
            self.service.load(progress=lambda step: self.post_message(msg.ModelProgress(step)))
        except Exception as exc:  # shown in the chat; the app stays usable for browsing
            self.post_message(msg.ModelFailed(str(exc)))
            return
        self.post_message(msg.ModelReady(dict(self.service.model_info), dict(self.service.index_info)))

    @on(msg.ModelProgress)
    def _model_progress(self, event: msg.ModelProgress) -> None:
        self._set_status(f"⏳ {event.step}")
        self.stats.show_model_status(event.step)

    @on(msg.ModelReady)
    def _model_ready(self, event: msg.ModelReady) -> None:
        # What is loaded by now (Textual, the store, torch, the model) lives as long as the
        # app: keep it out of full collections, which otherwise stall the UI ~0.1 s at random.
        gc.freeze()
        self.model_ready = True
        self._set_status(f"✓ {event.model_info.get('name', 'model')}")
        self.stats.show_model(event.model_info)
        self.stats.show_index(event.index_info)
        self._next_question()

    @on(msg.ModelFailed)
    async def _model_failed(self, event: msg.ModelFailed) -> None:
        self._set_status("model failed")
        self.stats.show_model_status("failed")
        await self.chat.add_notice(f"The model could not be loaded: {event.error}", severity="error")

    # ------------------------------------------------------------- questions
    @on(ChatPane.PromptSubmitted)
    async def _prompt_submitted(self, event: ChatPane.PromptSubmitted) -> None:
        waiting = not self.model_ready or self.generating or self.store is None
        note = "waiting for the model…" if not self.model_ready else "queued"
        widget = await self.chat.add_user(event.text, note=note if waiting else "")
        self._queue.append((event.text, widget))
        self._next_question()

    def _next_question(self) -> None:
        if self.generating or not self.model_ready or not self._queue:
            return
        question, widget = self._queue.popleft()
        if widget is not None:
            widget.set_note("")
        self._start_answer(question, widget)

    def _start_answer(self, question: str, widget: UserMessage | None) -> None:
        self.generating = True
        self._stop.clear()
        self._last_question = question
        self._question = widget
        self._answer = None
        self.sync.answer_started()
        self._set_status("thinking…")
        self.refresh_bindings()
        self._ask(question, self.session_id)

    @work(thread=True, exclusive=True, group="answer")
    def _ask(self, question: str, session_id: str | None) -> None:
        from ...sessions import SessionNotFound, StoreUnavailable

        try:
            if session_id is not None:
                try:
                    # A question is activity: the session lives on while it is answered.
                    self.store.extend_session(session_id)
                except SessionNotFound:  # the server says it is gone: nothing of this question is there
                    self.post_message(msg.SessionExpired(session_id))
                    session_id = None
                except StoreUnavailable:
                    pass  # unreachable is not expired: the question is kept locally until it is back
            if session_id is None:
                session_id = self.store.create_session(self.app.settings.user)
            self.post_message(msg.AnswerStarted(session_id, question))
            answer = self.service.ask(
                session_id, question, on_token=self._tokens.append, should_stop=self._stop.is_set,
                on_saved=lambda message: self.sync.saved(message.id),
                on_status=lambda status: self.post_message(msg.AnswerStatus(status)),
            )
        except SessionNotFound:  # expired or deleted while answering: never re-asked elsewhere
            self.post_message(msg.AnswerFailed(
                "the session expired or was deleted while answering: the answer was not saved",
                session_expired=True,
            ))
            return
        except Exception as exc:  # shown as the failed answer; the app carries on
            self.post_message(msg.AnswerFailed(str(exc)))
            return
        self.post_message(msg.AnswerFinished(answer, question))

    @on(msg.SessionExpired)
    async def _session_expired_before_question(self, event: msg.SessionExpired) -> None:
        await self.chat.add_notice(
            "This session expired: your question starts a new session.", severity="warning", before=self._question
        )

    async def _session_gone(self) -> None:
        """The store answered that the open session no longer exists: say so, once."""
        if self.session_id is None:
            return
        self.countdown.mark_expired()
        self.session_id = None
        self.browser.set_current(None)
        await self.chat.add_notice(
            "This session expired. Your next question starts a new session.", severity="warning"
        )

    @on(msg.AnswerStarted)
    async def _answer_started(self, event: msg.AnswerStarted) -> None:
        if event.session_id != self.session_id:
            self._set_session(event.session_id, title=event.question)
        if self._answer is None:
            self._answer = await self.chat.begin_answer(self._question)
            self._token_timer = self.set_interval(TOKEN_SECONDS, self._show_tokens)

    def _take_tokens(self) -> str:
        pieces = []
        while self._tokens:
            pieces.append(self._tokens.popleft())
        return "".join(pieces)

    async def _show_tokens(self) -> None:
        """Append what the model wrote since the last tick, as one piece."""
        text = self._take_tokens()
        if text and self._answer is not None:
            await self._answer.write(text)

    def _end_stream(self) -> str:
        """Stop the token timer; returns what came after its last tick."""
        if self._token_timer is not None:
            self._token_timer.stop()
            self._token_timer = None
        return self._take_tokens()

    @on(msg.AnswerStatus)
    def _answer_status(self, event: msg.AnswerStatus) -> None:
        if self.generating:  # a late status must not overwrite "✓ ready"
            self._set_status(event.status)

    @on(msg.AnswerFinished)
    async def _answer_finished(self, event: msg.AnswerFinished) -> None:
        self._end_stream()  # the finished answer shows the whole text
        answer = event.answer
        sources = [c if isinstance(c, dict) else asdict(c) for c in answer.sources]
        await self.chat.end_answer(self._answer, answer.text, sources, stopped=answer.stopped, question=self._question)
        self._last_answer = answer
        if self.service is not None:
            self.stats.show_model(dict(self.service.model_info), answer)
        self._done_generating()

    @on(msg.AnswerFailed)
    async def _answer_failed(self, event: msg.AnswerFailed) -> None:
        rest = self._end_stream()
        written = self._answer.text + rest if self._answer is not None else ""
        await self.chat.end_answer(
            self._answer, written, [], stopped=False, failed=event.error, question=self._question
        )
        if event.session_expired:
            await self._session_gone()
        self._done_generating()

    def _done_generating(self) -> None:
        self.generating = False
        self.sync.answer_ended()
        self._answer = None
        self._question = None
        self._set_status("✓ ready" if self.model_ready else "")
        self.refresh_bindings()
        self._next_question()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.generating  # Esc belongs to the focused widget otherwise
        return True

    def action_stop(self) -> None:
        self.cancel_generation()
        self._set_status("stopping…")

    def cancel_generation(self) -> None:
        """Ask the answer in flight to stop at its next token; what came so far is kept."""
        self._stop.set()

    async def action_regenerate(self) -> None:
        if self._last_question is None:
            self.notify("Nothing to regenerate yet.", severity="warning")
            return
        widget = await self.chat.add_user(f"↻ {self._last_question}")
        self._queue.append((self._last_question, widget))
        self._next_question()

    # -------------------------------------------------------------- sessions
    def _set_session(self, session_id: str | None, title: str = "") -> None:
        self.session_id = session_id
        self.sync.follow(session_id)
        self.browser.set_current(session_id)
        self.query_one("#session-title", Static).update(title[:60])
        if session_id is None:
            self.countdown.clear()
        else:
            self._show_ttl(self.app.settings.ttl or None)

    def _show_ttl(self, ttl: int | None) -> None:
        """Count down from `ttl`, unless the store's server can't say what it really is."""
        if self.sync.unreachable:
            self.countdown.mark_unknown()
        else:
            self.countdown.set_ttl(ttl)

    async def action_new_chat(self) -> None:
        if self.generating:
            self.notify("Stop the answer first (Esc).", severity="warning")
            return
        self._set_session(None)
        await self.chat.clear()
        self._last_question = None
        self.chat.prompt.focus()

    @on(SessionBrowser.SessionSelected)
    def _resume(self, event: SessionBrowser.SessionSelected) -> None:
        if self.generating:
            self.notify("Stop the answer first (Esc).", severity="warning")
            return
        self._load_session(event.session.id)

    @work(thread=True, exclusive=True, group="load")
    def _load_session(self, session_id: str) -> None:
        try:
            session = self.store.get_session(session_id)
            if session is None:
                self.post_message(msg.StoreActionDone("That session has expired or was deleted.", "warning"))
                return
            messages = self.store.get_messages(session_id, -PAGE, -1)
        except Exception as exc:  # e.g. unreachable and never seen by this process
            self.post_message(msg.StoreActionDone(f"Cannot open that session: {exc}", "error"))
            return
        import rich.markdown  # noqa: F401 -- answers are drawn with it: import here, not on the UI thread

        self.post_message(msg.SessionLoaded(session, messages, session.message_count))

    @on(msg.SessionLoaded)
    async def _session_loaded(self, event: msg.SessionLoaded) -> None:
        session = event.session
        self._set_session(session.id, title=session.title)
        self._show_ttl(session.ttl)
        self._shown_from = max(event.total - len(event.messages), 0)
        self.sync.follow(session.id, newest_id=event.messages[-1].id if event.messages else None)
        self._last_question = next(
            (m.content for m in reversed(event.messages) if m.role == "user"), None
        )
        await self.chat.show_history(event.messages, self._shown_from)
        # Focus moves after the history is painted: the footer's new keys cost a frame too.
        self.call_after_refresh(self.chat.prompt.focus)

    @on(ChatPane.EarlierRequested)
    def _earlier_requested(self) -> None:
        if self.session_id is not None and self._shown_from > 0:
            self._load_earlier(self.session_id, self._shown_from)

    @work(thread=True, exclusive=True, group="load")
    def _load_earlier(self, session_id: str, shown_from: int) -> None:
        start = max(shown_from - PAGE, 0)
        try:
            messages = self.store.get_messages(session_id, start, shown_from - 1)
        except Exception as exc:  # e.g. unreachable: the button stays, to try again
            self.post_message(msg.StoreActionDone(f"Cannot load earlier messages: {exc}", "error"))
            return
        self.post_message(msg.EarlierLoaded(session_id, messages, start))

    @on(msg.EarlierLoaded)
    async def _earlier_loaded(self, event: msg.EarlierLoaded) -> None:
        if event.session_id == self.session_id:
            self._shown_from = event.hidden_before
            await self.chat.prepend_history(event.messages, event.hidden_before)

    @on(SessionBrowser.FilterChanged)
    def _filter_changed(self) -> None:
        self.sync.query_text = self.browser.query_text
        self.sync.poll()

    def action_find_sessions(self) -> None:
        if not self.browser.display:
            self.action_toggle_browser()
        self.browser.action_focus_filter()

    # ------------------------------------------------------ browser actions
    @on(SessionBrowser.RenameRequested)
    def _rename_requested(self, event: SessionBrowser.RenameRequested) -> None:
        from .dialogs import TextPrompt

        session = event.session

        def rename(title: str | None) -> None:
            if title:
                run_store_action(self, lambda: self.store.rename_session(session.id, title), f"Renamed to “{title}”.")

        self.app.push_screen(TextPrompt("New title:", session.title), rename)

    @on(SessionBrowser.PinToggled)
    def _pin_toggled(self, event: SessionBrowser.PinToggled) -> None:
        session = event.session
        if session.pinned:
            run_store_action(self, lambda: self.store.unpin_session(session.id), "Unpinned: it expires when idle again.")
        else:
            run_store_action(self, lambda: self.store.pin_session(session.id), "Pinned: it never expires.")

    @on(SessionBrowser.ExportRequested)
    def _export_requested(self, event: SessionBrowser.ExportRequested) -> None:
        choose_format_and_export(self, self.store, event.session.id, self.app.settings.data_dir)

    @on(SessionBrowser.DeleteRequested)
    def _delete_requested(self, event: SessionBrowser.DeleteRequested) -> None:
        from .dialogs import ConfirmDialog

        session = event.session

        def delete(yes: bool | None) -> None:
            if yes:
                if session.id == self.session_id:
                    self.run_worker(self.action_new_chat())
                run_store_action(self, lambda: self.store.clear_session(session.id), "Session deleted.")

        self.app.push_screen(ConfirmDialog(f"Delete “{session.title or 'untitled'}” and all its messages?"), delete)

    @on(msg.StoreActionDone)
    def _store_action_done(self, event: msg.StoreActionDone) -> None:
        self.notify(event.note, severity=event.severity, markup=False)
        self.sync.poll()

    # ------------------------------------------------------------------ TTL
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
    async def _session_gone_elsewhere(self, event: LiveSync.SessionGone) -> None:
        if event.session_id == self.session_id:
            await self._session_gone()

    # ------------------------------------------------------------ live sync
    @on(LiveSync.SessionsListed)
    def _sessions_listed(self, event: LiveSync.SessionsListed) -> None:
        self.browser.show_sessions(event.sessions, ttl_known=event.ttl_known)

    @on(LiveSync.MessagesArrived)
    async def _messages_arrived(self, event: LiveSync.MessagesArrived) -> None:
        if event.session_id == self.session_id:
            await self.chat.append_messages(event.messages)

    @on(LiveSync.ReachabilityChanged)
    def _reachability_changed(self, event: LiveSync.ReachabilityChanged) -> None:
        self.app.sub_title = self.store.describe()
        if event.unreachable is not None:
            if self.session_id is not None:
                self.countdown.mark_unknown()
            self.stats.mark_unreachable()
            self.notify(
                f"{event.unreachable}. What you write is saved on this machine and sent when it is back.",
                title="Store unreachable", severity="warning", markup=False,
            )
        else:
            self.notify("The store answers again: everything saved meanwhile is being sent.", markup=False)

    @on(LiveSync.StatsRefreshed)
    def _stats_refreshed(self, event: LiveSync.StatsRefreshed) -> None:
        self.stats.show_store(event.stats, unreachable=event.unreachable)
        self.app.sub_title = self.store.describe()

    # ------------------------------------------------------------ the rest
    def action_toggle_browser(self) -> None:
        self._user_toggled.add("browser")
        self.browser.display = not self.browser.display

    def action_toggle_stats(self) -> None:
        self._user_toggled.add("stats")
        self.stats.display = not self.stats.display

    def action_sources(self) -> None:
        from .sources import SourcesScreen

        answer = self.chat.last_answer()
        if answer is None:
            self.notify("No answer yet.", severity="warning")
            return
        self.app.push_screen(SourcesScreen(answer.sources))

    @on(AssistantMessage.SourcesRequested)
    def _sources_requested(self, event: AssistantMessage.SourcesRequested) -> None:
        from .sources import SourcesScreen

        self.app.push_screen(SourcesScreen(event.sources))

    def action_copy_answer(self) -> None:
        answer = self.chat.last_answer()
        if answer is None or not answer.text:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.app.copy_to_clipboard(answer.text)
        self.notify(f"Copied the last answer ({len(answer.text):,} characters).")
