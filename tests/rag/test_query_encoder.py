"""Queries are embedded through ONNX Runtime: their vectors must be the ones sentence-transformers
gives (documents were indexed with the same weights), or search would quietly get worse."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from ragtui.rag import query_encoder
from ragtui.rag.embed import Embedder

QUERIES = [
    "How do I keep a session for longer than an hour?",
    "  what is a decorator?  ",
    "[bold]x[/] [@click=app.quit] \x1b[31mred\x1b[0m \x07 tab\there",
    "Größenänderung — 日本語のテキスト 🙂 ñandú",
    "with " * 600,  # far past the model's 256 tokens: both sides must cut it at the same place
    "",
]


def test_query_vectors_match_sentence_transformers(embedder):
    for text in QUERIES:
        query, document = embedder.embed_query(text), embedder.embed_with_pytorch([text])[0]
        assert query.dtype == np.float32 and query.shape == (embedder.dimensions,)
        assert float(np.dot(query, document)) > 0.9999, text
    assert embedder._encoder, "queries fell back to PyTorch: the fast path is not being tested"


def test_a_damaged_export_is_made_again(embedder, tmp_path):
    fresh = Embedder(threads=embedder.threads, cache_dir=tmp_path)
    fresh._model = embedder.model  # export from the already loaded weights
    path = query_encoder.encoder_path(fresh.model_dir, tmp_path)
    path.write_bytes(b"not an onnx file")

    vector = fresh.embed_query(QUERIES[0])

    assert fresh._encoder, "the damaged file was not replaced by a fresh export"
    assert path.stat().st_size > 1_000_000
    assert float(np.dot(vector, embedder.embed_with_pytorch([QUERIES[0]])[0])) > 0.9999


def test_without_onnx_runtime_nothing_is_exported(embedder, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(query_encoder, "runtime_installed", lambda: False)
    fresh = Embedder(threads=embedder.threads, cache_dir=tmp_path)
    fresh._model = embedder.model

    with caplog.at_level(logging.WARNING):
        vector = fresh.embed_query(QUERIES[0])
        fresh.embed(QUERIES[:2])

    assert fresh._encoder is False
    assert caplog.text.count("onnxruntime is not installed") == 1
    assert not list(tmp_path.iterdir())
    assert float(np.dot(vector, embedder.embed_with_pytorch([QUERIES[0]])[0])) > 0.9999
