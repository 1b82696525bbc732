"""Search the index with text: embed the query once, then vector, full-text or hybrid search."""
from __future__ import annotations

import logging
from pathlib import Path

from .. import paths
from ..source import Source
from .index import Index

log = logging.getLogger(__name__)


def open_index(data_dir: Path) -> Index:
    return Index(paths.index_dir(data_dir))


class Retriever:
    def __init__(self, index: Index, embedder):
        self.index = index
        self.embedder = embedder

    def search(self, query: str, *, k: int = 5, mode: str = "hybrid") -> list[Source]:
        """Best first; each hit also carries its cosine similarity to the query."""
        if self.index.outdated:
            self.upgrade()
        return self.index.search(query, self.embedder.embed_query(query), k=k, mode=mode)

    def upgrade(self) -> None:
        """Rebuild an index made by an older ragtui from the documents it held, once."""
        from .ingest import Ingester

        log.warning("rebuilding the document index made by an older ragtui (%d documents)",
                    self.index.document_count())
        Ingester(self.index, lambda: self.embedder).ingest([])
