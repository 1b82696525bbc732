"""Queries are embedded through ONNX Runtime (an int8 copy of the exported graph): their vectors
must stay close to the ones sentence-transformers gives, or search would quietly get worse, and
the graphs in the cache dir are made again when damaged."""
from __future__ import annotations

import logging
import shutil

import numpy as np

from ragtui.rag import query_encoder
from ragtui.rag.embed import QUANTIZED, Embedder

QUERIES = [
    "How do I keep a session for longer than an hour?",
    "  what is a decorator?  ",
    "[bold]x[/] [@click=app.quit] \x1b[31mred\x1b[0m \x07 tab\there",
    "Größenänderung — 日本語のテキスト 🙂 ñandú",
    "with " * 600,  # far past the model's 256 tokens: both sides must cut it at the same place
    "",
]
NEAR = 0.97  # int8 vs float (see test_embed)


def test_query_vectors_are_near_sentence_transformers(embedder):
    for text in QUERIES:
        query, document = embedder.embed_query(text), embedder.embed_with_pytorch([text])[0]
        assert query.dtype == np.float32 and query.shape == (embedder.dimensions,)
        assert float(np.dot(query, document)) > NEAR, text
    assert embedder._encoder, "queries fell back to PyTorch: the fast path is not being tested"


def graphs(fresh, cache_dir):
    exported = query_encoder.encoder_path(fresh.model_dir, cache_dir)
    return exported, query_encoder.quantized_path(exported, QUANTIZED)


def test_a_damaged_int8_graph_is_made_again_from_the_export(embedder, tmp_path):
    embedder.embed_query(QUERIES[0])  # its float export is in its cache dir by now
    fresh = Embedder(threads=embedder.threads, cache_dir=tmp_path)
    exported, quantized = graphs(fresh, tmp_path)
    shutil.copyfile(graphs(embedder, embedder.cache_dir)[0], exported)
    quantized.write_bytes(b"not an onnx file")

    vector = fresh.embed_query(QUERIES[0])

    assert fresh._encoder, "the damaged file was not replaced"
    assert fresh._model is None, "made from the export, without loading the weights to export again"
    assert np.array_equal(vector, embedder.embed_query(QUERIES[0]))


def test_a_damaged_export_is_made_again(embedder, tmp_path):
    fresh = Embedder(threads=embedder.threads, cache_dir=tmp_path)
    fresh._model = embedder.model
    exported, quantized = graphs(fresh, tmp_path)
    exported.write_bytes(b"not an onnx file")

    vector = fresh.embed_query(QUERIES[0])

    assert fresh._encoder, "the damaged export was not replaced by a fresh one"
    assert exported.stat().st_size > 1_000_000 and quantized.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([exported.name, quantized.name]), "no leftovers"
    assert np.array_equal(vector, embedder.embed_query(QUERIES[0]))


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
