"""The document index: passages with vectors in LanceDB, searched by vector, full text, or both.

Two tables under the data dir's index folder:
  chunks  one row per passage: where it comes from, its text, its vector
  files   one row per indexed document: its content hash, so unchanged files are skipped
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import RagtuiError
from .documents import Chunk
from .embed import DIMENSIONS

os.environ.setdefault("LANCEDB_LOG", "error")  # before lancedb loads: its deprecation notices are not for users

CHUNKS = "chunks"
FILES = "files"
SEARCH_MODES = ("hybrid", "vector", "fts")
ANN_INDEX_MIN_ROWS = 20_000  # below this an exhaustive scan is faster than any ANN index


class SearchError(RagtuiError):
    """A search that cannot run as asked."""


@dataclass(frozen=True)
class Hit:
    source: str
    title: str
    location: str
    text: str
    score: float  # higher is better: cosine (vector), BM25 (fts), RRF relevance (hybrid)
    similarity: float  # cosine between query and passage, whatever the mode

    def to_dict(self) -> dict:
        return {"source": self.source, "title": self.title, "location": self.location,
                "score": round(self.score, 4), "text": self.text}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _schema():
    import pyarrow as pa

    chunks = pa.schema([
        pa.field("source", pa.string()),
        pa.field("title", pa.string()),
        pa.field("location", pa.string()),
        pa.field("text", pa.string()),
        pa.field("content", pa.string()),  # title + text: what is embedded and full-text indexed
        pa.field("vector", pa.list_(pa.float32(), DIMENSIONS)),
    ])
    files = pa.schema([
        pa.field("source", pa.string()),
        pa.field("hash", pa.string()),
        pa.field("chunks", pa.int32()),
        pa.field("indexed_at", pa.float64()),
    ])
    return chunks, files


MANIFEST = "manifest.json"  # {source: [content hash, chunks]}: what `files` holds, readable without LanceDB


class Index:
    """Opens LanceDB only when it has to: importing it costs ~1–2 s, and re-ingesting an
    unchanged corpus needs nothing but the manifest of content hashes."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._db = self._chunks = self._files = None
        self._documents: dict[str, list] | None = None

    def open(self) -> "Index":
        """Connect now (an app about to answer questions should not pay for it on the first one)."""
        self._connect()
        return self

    def _connect(self) -> None:
        if self._db is not None:
            return
        import lancedb

        self._db = lancedb.connect(str(self.directory))
        self._open()

    def _open(self) -> None:
        chunks_schema, files_schema = _schema()
        names = set(self._db.list_tables().tables)
        self._chunks = (self._db.open_table(CHUNKS) if CHUNKS in names
                        else self._db.create_table(CHUNKS, schema=chunks_schema))
        self._files = (self._db.open_table(FILES) if FILES in names
                       else self._db.create_table(FILES, schema=files_schema))

    def reset(self) -> None:
        self._connect()
        for name in (CHUNKS, FILES):
            if name in self._db.list_tables().tables:
                self._db.drop_table(name)
        self._open()
        self._save_manifest({})

    # -- what is indexed ------------------------------------------------------------

    def _manifest(self) -> dict[str, list]:
        if self._documents is None:
            path = self.directory / MANIFEST
            try:
                self._documents = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # absent or damaged: the files table is the truth
                self._connect()
                table = self._files.to_arrow()
                self._save_manifest({s: [h, n] for s, h, n in zip(
                    table["source"].to_pylist(), table["hash"].to_pylist(), table["chunks"].to_pylist())})
        return self._documents

    def _save_manifest(self, documents: dict[str, list]) -> None:
        """Written after the tables, atomically: it never claims more than they hold."""
        self._documents = documents
        temporary = self.directory / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(documents), encoding="utf-8")
        os.replace(temporary, self.directory / MANIFEST)

    def chunk_count(self) -> int:
        return sum(n for _, n in self._manifest().values())

    def document_count(self) -> int:
        return len(self._manifest())

    def file_hashes(self) -> dict[str, str]:
        return {source: h for source, (h, _) in self._manifest().items()}

    # -- changes --------------------------------------------------------------------

    def remove(self, sources: Iterable[str]) -> None:
        self._connect()
        sources = list(sources)
        for start in range(0, len(sources), 500):
            where = f"source IN ({', '.join(_quote(s) for s in sources[start:start + 500])})"
            self._chunks.delete(where)
            self._files.delete(where)
        documents = dict(self._manifest())
        for source in sources:
            documents.pop(source, None)
        self._save_manifest(documents)

    def add(self, chunks: Sequence[Chunk], vectors, documents: dict[str, tuple[str, int]]) -> None:
        """Write passages, then their documents' hashes: a crash in between only means the
        documents are indexed again next time (their old passages are removed first)."""
        import pyarrow as pa

        self._connect()
        chunks_schema, files_schema = _schema()
        if chunks:
            flat = pa.array(vectors.reshape(-1), type=pa.float32())
            self._chunks.add(pa.Table.from_arrays([
                pa.array([c.source for c in chunks]),
                pa.array([c.title for c in chunks]),
                pa.array([c.location for c in chunks]),
                pa.array([c.text for c in chunks]),
                pa.array([c.searchable_text for c in chunks]),
                pa.FixedSizeListArray.from_arrays(flat, DIMENSIONS),
            ], schema=chunks_schema))
        if documents:
            now = time.time()
            self._files.add(pa.Table.from_pylist(
                [{"source": s, "hash": h, "chunks": n, "indexed_at": now} for s, (h, n) in documents.items()],
                schema=files_schema,
            ))
            self._save_manifest({**self._manifest(), **{s: [h, n] for s, (h, n) in documents.items()}})

    def refresh_search_indexes(self) -> None:
        """Full-text index always, an ANN index once exhaustive search gets slow; after that,
        `optimize` folds new rows into both incrementally (unindexed rows are still searched)."""
        from lancedb.index import FTS, IvfHnswSq

        self._connect()
        existing = {tuple(i.columns)[0] for i in self._chunks.list_indices()}
        if "content" not in existing:
            self._chunks.create_index("content", config=FTS(), replace=True)  # LanceDB's native BM25
        rows = self._chunks.count_rows()
        if "vector" not in existing and rows >= ANN_INDEX_MIN_ROWS:
            self._chunks.create_index(
                "vector", config=IvfHnswSq(distance_type="cosine", num_partitions=max(1, rows // 8192)),
                replace=True,
            )
        self._chunks.optimize()
        self._files.optimize()

    # -- search ---------------------------------------------------------------------

    def search(self, text: str, vector, *, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        if mode not in SEARCH_MODES:
            raise SearchError(f"unknown search mode {mode!r}: use one of {', '.join(SEARCH_MODES)}")
        self._connect()
        if self._chunks.count_rows() == 0:
            return []
        columns = ["source", "title", "location", "text", "vector"]
        if mode == "vector":
            query = self._chunks.search(vector, vector_column_name="vector").distance_type("cosine")
            rows = query.select(columns).limit(k).to_list()
            return [self._hit(r, vector, 1.0 - r["_distance"]) for r in rows]
        if mode == "fts":
            rows = (self._chunks.search(text, query_type="fts", fts_columns="content")
                    .select(columns).limit(k).to_list())
            return [self._hit(r, vector, r["_score"]) for r in rows]
        from lancedb.rerankers import RRFReranker

        rows = (
            self._chunks.search(query_type="hybrid", vector_column_name="vector", fts_columns="content")
            .vector(vector).text(text).distance_type("cosine")
            .rerank(RRFReranker()).select(columns).limit(k).to_list()
        )
        return [self._hit(r, vector, r["_relevance_score"]) for r in rows]

    @staticmethod
    def _hit(row: dict, query_vector, score: float) -> Hit:
        import numpy as np

        similarity = float(np.dot(np.asarray(row["vector"], dtype=np.float32), query_vector))
        return Hit(row["source"], row["title"], row["location"], row["text"], float(score), similarity)
