"""Bring the index up to date with a set of files and folders.

Incremental by content hash: an unchanged document is skipped, a changed one replaced,
one that disappeared from under the given paths removed. A document that cannot be read
is reported and skipped; the run always finishes. The embedder is only loaded when there
is something to embed, so re-ingesting an unchanged corpus costs no more than hashing it.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

from ..formatting import format_count
from .chunking import chunk_document
from .documents import Chunk, Document
from .index import Index
from .loaders import LoadError, is_supported, load_bytes, load_restructured, read_file

PYTHON_DOCS_PREFIX = "python-docs:"
MAX_FILE_BYTES = 50 * 1024 * 1024
EMBED_BATCH = 512  # passages per write, embedded longest first so that batches of alike length pad little
PROGRESS_BATCH = 128  # passages embedded between two progress reports: a big file shows progress too


@dataclass
class IngestProgress:
    files_done: int  # read and split into passages
    files_total: int
    chunks: int  # passages found so far
    chunks_indexed: int  # of which embedded
    elapsed: float
    current: str
    fraction: float = 0.0  # of the run: a file counts once its passages are embedded, in part while they are

    @property
    def chunks_per_s(self) -> float:
        return self.chunks_indexed / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    ignored: dict[str, int] = field(default_factory=dict)  # file types ragtui does not read, found while walking folders: suffix -> files
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        parts = [
            f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged",
            f"{self.removed} removed", f"{len(self.skipped)} skipped",
        ]
        line = f"{', '.join(parts)}; {format_count(self.chunks, 'chunk')} in {self.seconds:.1f}s"
        if self.chunks:
            line += f" ({self.chunks_per_s:.0f} chunks/s)"
        if self.ignored:  # by type, so "130 .gz" says what to convert (a man page: man X > X.txt)
            kinds = sorted(self.ignored.items(), key=lambda kind: (-kind[1], kind[0]))
            shown = ", ".join(f"{count} {suffix}" for suffix, count in kinds[:4]) + (", …" if len(kinds) > 4 else "")
            line += f"; {format_count(sum(self.ignored.values()), 'file')} of other types ignored ({shown})"
        return line

    def to_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k != "skipped"},
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


class DocumentEmbedder(Protocol):
    """What ingest needs of an embedder (ragtui.rag.embed.Embedder, or a bench's stand-in)."""
    dimensions: int

    def embed(self, texts: Sequence[str]): ...


@dataclass(frozen=True)
class _Candidate:
    source: str
    path: Path | None  # None for Python reference topics, whose text is given
    text: str = ""


def discover(paths: Sequence[Path], report: IngestReport) -> tuple[list[_Candidate], list[str]]:
    """Files to consider, and the roots under which a missing document means a deleted one."""
    found: dict[str, _Candidate] = {}
    roots: list[str] = []
    for given in paths:
        root = Path(os.path.abspath(given.expanduser()))
        roots.append(str(root))
        if root.is_dir():
            for path in _walk(root, report):
                found[str(path)] = _Candidate(str(path), path)
        elif os.path.lexists(root):  # a file, or something read_file will say is not one
            found[str(root)] = _Candidate(str(root), root)
        else:
            report.skipped.append((str(given), "not found"))
    return list(found.values()), roots


def _walk(root: Path, report: IngestReport) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(directory) / name
            if is_supported(path):
                yield path
            else:
                suffix = path.suffix.lower() or "no suffix"
                report.ignored[suffix] = report.ignored.get(suffix, 0) + 1


def _is_utf8(name: str) -> bool:
    """False for a name with bytes that are not UTF-8: the index can store no such name."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def python_reference_topics() -> list[_Candidate]:
    """The language reference every Python ships for help(): one document per topic."""
    from pydoc_data.topics import topics

    return [_Candidate(PYTHON_DOCS_PREFIX + name, None, text) for name, text in sorted(topics.items())]


def _under(source: str, roots: Sequence[str]) -> bool:
    return any(source == r or source.startswith(r.rstrip(os.sep) + os.sep) or
               (r == PYTHON_DOCS_PREFIX and source.startswith(r)) for r in roots)


class Ingester:
    def __init__(self, index: Index, embedder_factory: Callable[[], DocumentEmbedder]):
        self.index = index
        self._embedder_factory = embedder_factory
        self._embedder: DocumentEmbedder | None = None

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        python_docs: bool = False,
        rebuild: bool = False,
        progress: Callable[[IngestProgress], None] | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        if self.index.outdated:  # made by an older ragtui: index everything it held again, the new way
            held = list(self.index.file_hashes())
            paths = [*paths, *(Path(s) for s in held if not s.startswith(PYTHON_DOCS_PREFIX))]
            python_docs = python_docs or any(s.startswith(PYTHON_DOCS_PREFIX) for s in held)
            rebuild = True
        if rebuild:
            self.index.reset()
        candidates, roots = discover(paths, report)
        if python_docs:
            candidates += python_reference_topics()
            roots.append(PYTHON_DOCS_PREFIX)
        known = self.index.file_hashes()
        pending: list[Chunk] = []
        pending_docs: dict[str, tuple[str, int]] = {}
        stale: set[str] = set()  # indexed documents whose old passages must go

        def report_progress(done: int, current: str, embedded: int = 0) -> None:
            if progress is None:
                return
            waiting = len(pending_docs) * (1 - embedded / len(pending)) if pending else 0
            progress(IngestProgress(done, len(candidates), report.chunks + len(pending), report.chunks + embedded,
                                    time.perf_counter() - started, current, (done - waiting) / len(candidates)))

        def flush(done: int, current: str) -> None:
            if not pending_docs and not stale:
                return
            vectors = None
            if pending:
                embed_started = time.perf_counter()
                vectors = self._embed_in_batches(
                    [c.searchable_text for c in pending],
                    (lambda embedded: report_progress(done, current, embedded)) if progress else None)
                report.embed_seconds += time.perf_counter() - embed_started
            self.index.remove(stale | set(pending_docs))
            self.index.add(pending, vectors, pending_docs)
            report.chunks += len(pending)
            pending.clear()
            pending_docs.clear()
            stale.clear()

        for done, candidate in enumerate(candidates, start=1):
            outcome = self._prepare(candidate, known.get(candidate.source))
            if isinstance(outcome, str):  # a reason to skip it
                if outcome == "unchanged":
                    report.unchanged += 1
                else:
                    report.skipped.append((candidate.source, outcome))
                    if candidate.source in known:
                        stale.add(candidate.source)
                        report.removed += 1
            else:
                content_hash, chunks = outcome
                pending.extend(chunks)
                pending_docs[candidate.source] = (content_hash, len(chunks))
                if candidate.source in known:
                    report.updated += 1
                else:
                    report.added += 1
            if len(pending) >= EMBED_BATCH:
                flush(done, candidate.source)
            if progress:
                report_progress(done, candidate.source)
        seen = {c.source for c in candidates}
        gone = {s for s in known if s not in seen and _under(s, roots)}
        stale |= gone
        report.removed += len(gone)
        changed = bool(pending_docs or stale)
        flush(len(candidates), candidates[-1].source if candidates else "")
        if changed or (rebuild and self.index.chunk_count()):
            self.index.refresh_search_indexes()
        report.seconds = time.perf_counter() - started
        if progress and candidates:
            progress(IngestProgress(len(candidates), len(candidates), report.chunks, report.chunks,
                                    report.seconds, "", 1.0))
        return report

    def _prepare(self, candidate: _Candidate, known_hash: str | None) -> str | tuple[str, list[Chunk]]:
        """(content hash, passages) for a new or changed document, else why it is skipped."""
        if candidate.path is None:
            data = candidate.text.encode("utf-8")
        else:
            if not _is_utf8(candidate.source):
                return "its name is not valid UTF-8: rename it to index it"
            try:
                data = read_file(candidate.path, MAX_FILE_BYTES)
            except LoadError as exc:
                return str(exc)
        if not data.strip():
            return "empty"
        content_hash = hashlib.sha256(data).hexdigest()
        if content_hash == known_hash:
            return "unchanged"
        try:
            document = self._load(candidate, data)
        except LoadError as exc:
            return str(exc)
        chunks = chunk_document(document)
        if not chunks:
            return "no text in it"
        return content_hash, chunks

    @staticmethod
    def _load(candidate: _Candidate, data: bytes) -> Document:
        if candidate.path is None:
            topic = candidate.source[len(PYTHON_DOCS_PREFIX):]
            return load_restructured(candidate.source, candidate.text, default_title=topic)
        return load_bytes(candidate.path, data)

    def _embed_in_batches(self, texts: list[str], embedded: Callable[[int], None] | None):
        """One vector per text, in order; `embedded(n)` after each PROGRESS_BATCH."""
        import numpy as np

        if self._embedder is None:
            self._embedder = self._embedder_factory()
        embedder = self._embedder
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.empty((len(texts), embedder.dimensions), dtype=np.float32)
        for start in range(0, len(order), PROGRESS_BATCH):
            rows = order[start:start + PROGRESS_BATCH]
            vectors[rows] = embedder.embed([texts[i] for i in rows])
            if embedded:
                embedded(start + len(rows))
        return vectors
