"""One widget per chat message. Untrusted text goes in as Content or Markdown source,
never as Textual markup."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from ...safe_text import clean, for_display, one_line
from ...source import Source, ranked_evidence, shown_sources

if TYPE_CHECKING:
    from ...sessions.models import Message as StoredMessage


def citation_line(sources: Sequence[Source]) -> Content:
    """`Sources: [1] guide.md · §2  [3] faq.txt · line 40  (+2 not cited)` as plain content:
    what the answer cited (Enter or ctrl+o shows every passage it was given)."""
    shown, others = shown_sources(sources)
    parts: list[str | tuple[str, str]] = [("Sources:", "bold")]
    for source in shown:
        label = one_line(source.title or source.source or "?", 40)
        location = one_line(source.location, 30)
        parts.append(f"  [{source.n}] {label}")
        if location:
            parts.append(f" · {location}")
    if others:
        parts.append(f"  (+{others} not cited)")
    return Content.assemble(*parts)


def evidence_lines(sources: Sequence[Source]) -> Content | None:
    """The sentences the answer rests on, quoted from its passages with their [n]."""
    evidence = ranked_evidence(sources)
    if not evidence:
        return None
    lines: list[str | tuple[str, str]] = [("Evidence:", "bold")]
    for n, sentence in evidence:
        lines += [f"\n  [{n}] ", (f"“{one_line(sentence, 400)}”", "italic")]
    return Content.assemble(*lines)


def truncation_note(total_chars: int, shown: int) -> Content:
    return Content.styled(
        f"… showing the first {shown:,} of {total_chars:,} characters as plain text; "
        "the full message is kept in the store (export the session to read it).",
        "italic $warning",
    )


class UserMessage(Static):
    """What the user asked, as plain text."""

    def __init__(self, text: str, *, note: str = "") -> None:
        shown, cut = for_display(text)
        body = Content.assemble(("You  ", "bold $accent"), shown)
        if cut:
            body = Content.assemble(body, "\n", truncation_note(len(text), len(shown)))
        super().__init__(body)
        self.text = text
        self.set_note(note)

    def set_note(self, note: str) -> None:
        self.set_class(bool(note), "-pending")
        self.tooltip = note or None
        self.border_subtitle = note


class Notice(Static):
    """A line from the app itself (errors, expiry, store warnings)."""

    def __init__(self, text: str, *, severity: str = "information") -> None:
        super().__init__(Content(clean(text)), classes=f"-{severity}")


class AssistantMessage(Vertical, can_focus=True):
    """A written answer: its Markdown drawn by Rich, then its evidence and sources.

    A resumed session shows many of these, and Textual's `Markdown` widget would mount a
    widget per block (a 1,000-message session took seconds to lay out); the answer being
    generated is a `StreamingAnswer` until it finishes. Rich parses the text as Markdown,
    never as Textual markup; links are shown, not followed. The evidence and sources are a
    Static of their own, so Textual wraps them at the pane's width and resolves the theme's
    colours (inside a Rich renderable they were cropped, and drawn black on black).
    Focusable so Enter on it opens that answer's sources.
    """

    BINDINGS = [Binding("enter", "open_sources", "Sources")]

    class SourcesRequested(Message):
        def __init__(self, sources: Sequence[Source]) -> None:
            super().__init__()
            self.sources = list(sources)

    def __init__(
        self, text: str, sources: Sequence[Source] = (), *, stopped: bool = False, failed: str = ""
    ) -> None:
        """`failed`: why no answer came (what was written before is shown above it)."""
        super().__init__()
        self.text = clean(text)  # what F5 copies: no escape sequences either
        self.sources = list(sources)
        self._stopped = stopped
        self.failed = failed
        shown, cut = for_display(self.text)
        if cut:
            self._body: Any = Content.assemble(Content(shown), "\n", truncation_note(len(text), len(shown)))
        else:
            from rich.markdown import Markdown as RichMarkdown  # markdown-it: not needed for the first frame

            self._body = RichMarkdown(shown, hyperlinks=False)

    @classmethod
    def stored(cls, message: StoredMessage) -> AssistantMessage:
        """An answer as the store keeps it (its sources as dicts, maybe from an earlier release)."""
        return cls(message.content, Source.from_dicts(message.sources))

    def compose(self):
        if self.text:
            yield Static(self._body, classes="answer-text")
        footer = self._footer()
        if footer:
            yield Static(footer, classes="answer-footer")

    def _footer(self) -> Content:
        parts: list[Content] = []
        evidence = evidence_lines(self.sources)
        if evidence is not None:
            parts.append(evidence)
        if self.sources:
            parts.append(citation_line(self.sources))
        if self.failed:
            parts.append(Content.assemble(("FAILED ", "bold $error"), (one_line(self.failed, 300), "$error")))
        elif self._stopped:
            parts.append(Content.styled("(stopped — what was generated is kept)", "italic $warning"))
        return Content("\n").join(parts)

    def action_open_sources(self) -> None:
        self.post_message(self.SourcesRequested(self.sources))
