"""The chat pane: the transcript of the open session and the question box."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from textual import on
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from .chat_messages import AssistantMessage, Notice, UserMessage
from .prompt_input import PromptInput

if TYPE_CHECKING:
    from .streaming_answer import StreamingAnswer

WELCOME = (
    "Ask a question about your documents. Enter sends, ctrl+j adds a line, "
    "up/down recall earlier questions. F1 lists every key."
)


class ChatPane(Vertical):
    """Shows messages; says what the user asked. It never talks to the store or model."""

    BINDINGS = [Binding("ctrl+home", "scroll_top", "Top", show=False)]

    @dataclass
    class PromptSubmitted(Message):
        text: str

    class EarlierRequested(Message):
        """The user wants to see older messages than those shown."""

    def compose(self):
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

    @on(PromptInput.Submitted)
    def _forward_prompt(self, event: PromptInput.Submitted) -> None:
        event.stop()
        self.post_message(self.PromptSubmitted(event.text))

    @on(Button.Pressed, "#earlier")
    def _ask_for_earlier(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.EarlierRequested())

    def _message_widgets(self, messages: Sequence[Any]) -> list:
        widgets = []
        for message in messages:
            if message.role == "assistant":
                widgets.append(AssistantMessage(message.content, message.sources))
            elif message.role == "user":
                widgets.append(UserMessage(message.content))
        return widgets

    async def show_history(self, messages: Sequence[Any], hidden_before: int) -> None:
        """Replace the transcript with `messages`; `hidden_before` older ones exist."""
        await self.clear()
        await self.transcript.mount_all(self._message_widgets(messages))
        await self._set_earlier(hidden_before)
        self.transcript.scroll_end(animate=False)

    async def prepend_history(self, messages: Sequence[Any], hidden_before: int) -> None:
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

    async def begin_answer(self, question: Widget | None = None) -> StreamingAnswer:
        """Mount the answer right below its `question`: questions queued meanwhile stay after it."""
        from .streaming_answer import StreamingAnswer

        widget = StreamingAnswer()
        await self.transcript.mount(widget, after=self._shown(question))
        return widget

    async def end_answer(
        self,
        streaming: StreamingAnswer | None,
        text: str,
        sources: Sequence[dict[str, Any]],
        *,
        stopped: bool,
        failed: str = "",
        question: Widget | None = None,
    ) -> AssistantMessage:
        """Put the finished (or `failed`) answer in place of the one that was streaming, or
        below its `question` if none was."""
        widget = AssistantMessage(text, sources, stopped=stopped, failed=failed)
        if streaming is None:
            await self.transcript.mount(widget, after=self._shown(question))
        else:
            await streaming.finish()
            await self.transcript.mount(widget, after=streaming)
            await streaming.remove()
        return widget

    async def add_notice(self, text: str, *, severity: str = "information", before: Widget | None = None) -> None:
        await self.transcript.mount(Notice(text, severity=severity), before=self._shown(before))

    def pending_questions(self) -> list[UserMessage]:
        return [w for w in self.query(UserMessage) if w.has_class("-pending")]

    def last_answer(self) -> AssistantMessage | None:
        answers = self.query(AssistantMessage)
        return answers.last() if answers else None
