"""The answer being generated: Textual's Markdown, appended to through a MarkdownStream.

Imported on the first answer: markdown-it is not needed for the first frame.
"""
from __future__ import annotations

from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

from ...safe_text import clean


class StreamingAnswer(Markdown):
    """Appends each piece (never re-renders the whole answer per token); the chat replaces
    it with an `AssistantMessage` once the answer is finished."""

    def __init__(self) -> None:
        super().__init__(open_links=False)
        self.text = ""
        self._stream: MarkdownStream | None = None

    async def write(self, piece: str) -> None:
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        piece = clean(piece)
        self.text += piece
        await self._stream.write(piece)

    async def finish(self) -> None:
        """Wait until everything written is on screen."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
