"""What loaders produce and the chunker consumes: documents made of titled sections."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A run of text under one heading (or one PDF page)."""

    heading: str  # heading path inside the document, "Install › From PyPI"; "" when none
    text: str
    start: int  # character offset of `text` in the document (in the page, for PDFs)
    page: int | None = None  # 1-based PDF page


@dataclass(frozen=True)
class Document:
    source: str  # absolute path, or "python-docs:<topic>"
    title: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage, with enough to cite it."""

    source: str
    title: str  # "Document title › heading"
    text: str
    start: int
    end: int
    page: int | None = None

    @property
    def location(self) -> str:
        if self.page is not None:
            return f"page {self.page}"
        return f"chars {self.start}-{self.end}"

    @property
    def searchable_text(self) -> str:
        """What is embedded and full-text indexed: the heading gives a passage its topic."""
        return f"{self.title}\n{self.text}"
