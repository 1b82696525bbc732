"""The chat pane: the bar with the session's title, the model's state and the TTL; the
transcript of the open session; the question box; and the questions waiting their turn
(an `Answering`, shared with the screen that gets them answered)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Static

from ...formatting import format_count
from ...safe_text import one_line
from .. import messages as msg
from ..answering import Answering, Question
from .chat_messages import AssistantMessage, Notice, UserMessage
from .prompt_input import PromptInput
from .ttl_countdown import TtlCountdown

if TYPE_CHECKING:
    from ...source import Source
    from .streaming_answer import StreamingAnswer

# Streamed tokens reach the answer on a timer, a few per update: one message per token
# kept the UI thread parsing and laying out between key presses (p99 key latency 278 ms).
TOKEN_SECONDS = 0.04

WELCOME = (
    "Ask a question about your documents. Enter sends, ctrl+j adds a line, "
    "up/down recall earlier questions. F1 lists every key."
)


def model_label(name: str) -> str:
    """The model's name for the bar: a model server may name it by the path of its file
    (llama_cpp.server does), which filled the bar; its file name says it (the stats pane
    keeps the whole id)."""
    last = one_line(name).rstrip("/").rsplit("/", 1)[-1]
    return last.removesuffix(".gguf") or one_line(name)


class ChatPane(Vertical):
    """Shows the open session and queues what the user asks. It never talks to the store or
    model: the results of the workers (ModelReady, SessionLoaded, AnswerStarted, …) are
    posted to it first, then bubble to the screen."""

    BINDINGS = [Binding("ctrl+home", "scroll_top", "Top", show=False)]

    class QuestionAsked(Message):
        """A question joined the queue."""

    class EarlierRequested(Message):
        """The user wants to see older messages than those shown."""

    def __init__(self, answering: Answering, *, monotonic: Callable[[], float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.answering = answering
        self.countdown = TtlCountdown(id="ttl", clock=monotonic)
        self.session_id: str | None = None  # the session shown (None: a new chat)
        self.hidden_before = 0  # messages of the session older than those shown
        self._streaming: StreamingAnswer | None = None
        self._token_timer: Timer | None = None

    def compose(self):
        with Horizontal(id="status-bar"):
            yield Static("", id="session-title", markup=False)
            yield Static("connecting to the store…", id="model-status", markup=False)
            yield self.countdown
        with VerticalScroll(id="transcript"):
            yield Static(WELCOME, id="welcome", markup=False)
        yield PromptInput(id="prompt")

    def on_mount(self) -> None:
        self.query_one("#transcript", VerticalScroll).anchor()

    @property
    def transcript(self) -> VerticalScroll:
        return self.query_one("#transcript", VerticalScroll)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    def open_session(self, session_id: str | None, title: str = "", ttl: int | None = None, *,
                     ttl_known: bool = True) -> None:
        """Say which session is shown, and count down its `ttl` (unless it can't be known)."""
        self.session_id = session_id
        self.query_one("#session-title", Static).update(title)
        if session_id is None:
            self.countdown.clear()
        elif not ttl_known:
            self.countdown.mark_unknown()
        else:
            self.countdown.set_ttl(ttl)

    def show_status(self, status: str) -> None:
        """What the model is doing: loading, thinking, writing, ready."""
        self.query_one("#model-status", Static).update(status)

    @on(PromptInput.Submitted)
    async def _prompt_submitted(self, event: PromptInput.Submitted) -> None:
        event.stop()
        await self.ask(event.text)

    async def ask(self, question: str, *, shown: str | None = None) -> None:
        """Show `question` (as `shown`), marked as waiting if it must, and queue it."""
        waiting = "queued" if self.answering.model_ready else "waiting for the model…"
        widget = await self.add_user(shown or question, note=waiting if self.answering.must_wait else "")
        self.answering.submit(Question(question, widget))
        self.post_message(self.QuestionAsked())

    @on(Button.Pressed, "#earlier")
    def _ask_for_earlier(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.EarlierRequested())

    def _message_widgets(self, messages: Sequence[Any]) -> list[UserMessage | AssistantMessage]:
        widgets: list[UserMessage | AssistantMessage] = []
        for message in messages:
            if message.role == "assistant":
                widgets.append(AssistantMessage.stored(message))
            elif message.role == "user":
                widgets.append(UserMessage(message.content))
        return widgets

    async def show_history(self, messages: Sequence[Any], hidden_before: int) -> None:
        """Replace the transcript with `messages`; `hidden_before` older ones exist."""
        await self.clear()
        self.hidden_before = hidden_before
        await self.transcript.mount_all(self._message_widgets(messages))
        await self._set_earlier(hidden_before)
        self.transcript.scroll_end(animate=False)

    async def prepend_history(self, messages: Sequence[Any], hidden_before: int) -> None:
        self.hidden_before = hidden_before
        await self.transcript.mount_all(self._message_widgets(messages), after="#earlier")
        await self._set_earlier(hidden_before)

    async def append_messages(self, messages: Sequence[Any]) -> None:
        """Messages that arrived from elsewhere (another instance or device)."""
        await self.transcript.mount_all(self._message_widgets(messages))

    async def _set_earlier(self, hidden: int) -> None:
        # Mounted when first needed: parsing Button's stylesheet cost the first frame ~12 ms.
        if hidden and not self.transcript.query_children("#earlier"):
            await self.transcript.mount(Button("", id="earlier", compact=True), before=0)
        for button in self.transcript.query_children("#earlier").results(Button):
            button.display = hidden > 0
            button.label = f"Show {hidden:,} earlier message{'s' if hidden != 1 else ''}"

    async def clear(self) -> None:
        self.hidden_before = 0
        await self.transcript.query("UserMessage, AssistantMessage, Notice").remove()
        self.query_one("#welcome").display = False
        await self._set_earlier(0)

    async def add_user(self, text: str, *, note: str = "") -> UserMessage:
        self.query_one("#welcome").display = False
        widget = UserMessage(text, note=note)
        await self.transcript.mount(widget)
        return widget

    def _shown(self, widget: Widget | None) -> Widget | None:
        """`widget` if it is still in the transcript (a new chat clears it)."""
        return widget if widget is not None and widget.parent is self.transcript else None

    def _current_question(self) -> Widget | None:
        """The question being answered, if it is still in the transcript (a new chat clears it)."""
        current = self.answering.current
        return self._shown(current.shown) if current is not None else None

    @on(msg.AnswerStarted)
    async def _answer_started(self) -> None:
        """Stream the answer right below its question (questions queued meanwhile stay after
        it), taking what the model wrote on a timer."""
        from .streaming_answer import StreamingAnswer

        if self._streaming is None:
            self._streaming = StreamingAnswer()
            await self.transcript.mount(self._streaming, after=self._current_question())
            self._token_timer = self.set_interval(TOKEN_SECONDS, self._show_tokens)

    async def _show_tokens(self) -> None:
        text = self.answering.take_tokens()
        if text and self._streaming is not None:
            await self._streaming.write(text)

    @on(msg.ModelProgress)
    def _model_progress(self, event: msg.ModelProgress) -> None:
        self.show_status(f"⏳ {event.step}")

    @on(msg.ModelReady)
    def _model_ready(self, event: msg.ModelReady) -> None:
        self.show_status(f"✓ {model_label(str(event.model_info.get('name') or 'model'))}")

    @on(msg.ModelFailed)
    async def _model_failed(self, event: msg.ModelFailed) -> None:
        self.show_status("model failed")
        await self.add_notice(f"The model could not be loaded: {event.error}", severity="error")

    @on(msg.SessionLoaded)
    async def _session_loaded(self, event: msg.SessionLoaded) -> None:
        await self.show_history(event.messages, max(event.total - len(event.messages), 0))
        # Focus moves after the history is painted: the footer's new keys cost a frame too.
        self.call_after_refresh(self.prompt.focus)

    @on(msg.EarlierLoaded)
    async def _earlier_loaded(self, event: msg.EarlierLoaded) -> None:
        event.stop()
        if event.session_id == self.session_id:
            await self.prepend_history(event.messages, event.hidden_before)

    @on(msg.AnswerStatus)
    def _answer_status(self, event: msg.AnswerStatus) -> None:
        event.stop()
        if self.answering.generating:  # a late status must not overwrite "✓ ready"
            self.show_status(event.status)

    @on(msg.AnswerFinished)
    async def _answer_finished(self, event: msg.AnswerFinished) -> None:
        answer = event.answer
        await self._end_answer(answer.text, answer.sources, stopped=answer.stopped)

    @on(msg.AnswerFailed)
    async def _answer_failed(self, event: msg.AnswerFailed) -> None:
        await self._end_answer(None, [], stopped=False, failed=event.error)

    @on(msg.SessionExpired)
    async def _session_expired(self, event: msg.SessionExpired) -> None:
        event.stop()
        notice = "This session expired: your question starts a new session."
        await self.add_notice(notice, severity="warning", before=self._current_question())

    async def _end_answer(self, text: str | None, sources: Sequence[Source], **how: Any) -> None:
        """Put the finished (or failed) answer in place of the one streaming, or below its
        question if none was; `text` None: what was streamed."""
        if self._token_timer is not None:
            self._token_timer.stop()
            self._token_timer = None
        streaming, self._streaming = self._streaming, None
        rest = self.answering.take_tokens()
        if text is None:
            text = (streaming.text if streaming is not None else "") + rest
        widget = AssistantMessage(text, sources, **how)
        if streaming is None:
            await self.transcript.mount(widget, after=self._current_question())
        else:
            await streaming.finish()
            await self.transcript.mount(widget, after=streaming)
            await streaming.remove()
        self.show_status("✓ ready")

    async def say_expired(self) -> None:
        """The store said the open session is gone (it was closed already)."""
        self.countdown.mark_expired()
        await self.add_notice("This session expired. Your next question starts a new session.", severity="warning")

    async def add_notice(self, text: str, *, severity: str = "information", before: Widget | None = None) -> None:
        await self.transcript.mount(Notice(text, severity=severity), before=self._shown(before))

    def last_answer(self) -> AssistantMessage | None:
        answers = self.query(AssistantMessage)
        return answers.last() if answers else None

    async def regenerate(self) -> None:
        """Ask the last question again (it is answered below itself)."""
        question = self.answering.last_question
        if question is None:
            self.notify("Nothing to regenerate yet.", severity="warning")
        else:
            await self.ask(question, shown=f"↻ {question}")

    def open_sources(self) -> None:
        """Show the passages the last answer rests on."""
        answer = self.last_answer()
        if answer is None:
            self.notify("No answer yet.", severity="warning")
        else:
            answer.action_open_sources()

    def copy_answer(self) -> None:
        """Copy the last answer's text to the clipboard."""
        answer = self.last_answer()
        if answer is None or not answer.text:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.app.copy_to_clipboard(answer.text)
        self.notify(f"Copied the last answer ({format_count(len(answer.text), 'character')}).")
