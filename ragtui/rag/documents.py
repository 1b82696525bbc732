"""What loaders produce and the chunker consumes: documents made of titled sections."""
from __future__ import annotations

import re
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
    def label(self) -> str:
        """What the passage is about by name: file name, document title and heading path.
        Questions often name the topic ("ttl", "keyspace notifications") without the words
        of the passage, so the label is embedded with the text and weighted in full-text search."""
        name = document_name(self.source)
        if not name or name.lower() in self.title.lower():
            return self.title
        return f"{name} · {self.title}"

    @property
    def searchable_text(self) -> str:
        """What is embedded and full-text indexed."""
        return f"{self.label}\n{self.text}"


def document_name(source: str) -> str:
    """A document's file name as words: "/docs/keyspace-notifications.md" -> "keyspace notifications"."""
    name = re.split(r"[\\/:]", source)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return " ".join(stem.replace("_", " ").replace("-", " ").split())
