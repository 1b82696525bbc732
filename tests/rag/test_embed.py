"""Queries and documents are embedded through an int8 copy of the ONNX graph, one text per run:
every vector must stay close to sentence-transformers' for the same text (the retrieval
figures in bench/RESULTS.md hold it to equal r@1), and depend on that text alone."""
from __future__ import annotations

import logging

import numpy as np

from ragtui.rag import query_encoder
from ragtui.rag.embed import Embedder

DOCUMENTS = [
    "Sessions expire after an hour of inactivity unless they are pinned.",
    "",
    "   ",
    "Größenänderung — 日本語のテキスト 🙂 ñandú",
    "[PAD] [CLS] [SEP] [MASK] \x1b[31mred\x1b[0m \x07 tab\there",
    "The quick brown fox. " * 200,  # far past the model's 256 tokens
    "a",
] + [f"Passage {i}: " + "words of a passage " * (i % 17) for i in range(40)]  # many lengths
NEAR = 0.97  # int8 vs float: 0.98–0.99 on passages of the Python reference (bench/RESULTS.md)


def test_document_vectors_are_near_sentence_transformers(embedder):
    vectors = embedder.embed(DOCUMENTS)

    assert embedder._encoder, "documents fell back to PyTorch: the fast path is not being tested"
    assert vectors.dtype == np.float32 and vectors.shape == (len(DOCUMENTS), embedder.dimensions)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    reference = embedder.embed_with_pytorch(DOCUMENTS)
    cosines = np.sum(vectors * reference, axis=1)
    assert cosines.min() > NEAR, [DOCUMENTS[i][:40] for i in np.flatnonzero(cosines <= NEAR)]


def test_a_text_gets_the_same_vector_whatever_it_is_embedded_with(embedder):
    """Dynamic int8 scales activations per run: batched, a vector would depend on its batch-mates."""
    together = embedder.embed(DOCUMENTS)
    alone = np.stack([embedder.embed([text])[0] for text in reversed(DOCUMENTS)])[::-1]
    shuffled = np.random.default_rng(3).permutation(len(DOCUMENTS))
    in_another_order = np.empty_like(together)
    in_another_order[shuffled] = embedder.embed([DOCUMENTS[i] for i in shuffled])

    assert np.array_equal(together, alone)
    assert np.array_equal(together, in_another_order)
    assert np.array_equal(together[0], embedder.embed_query(DOCUMENTS[0])), "queries go through the same graph"


def test_with_a_broken_onnx_runtime_documents_are_embedded_with_pytorch(embedder, tmp_path, monkeypatch, caplog):
    def unusable(*args, **kwargs):
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(query_encoder, "OnnxEncoder", unusable)
    fresh = Embedder(threads=embedder.threads, cache_dir=tmp_path)
    fresh._model = embedder.model

    with caplog.at_level(logging.WARNING):
        vectors = fresh.embed(DOCUMENTS[:3])
        query = fresh.embed_query("and the queries too")

    assert fresh._encoder is False
    assert caplog.text.count("ONNX Runtime unavailable") == 1, "one warning, not one per text"
    assert "onnxruntime" in caplog.text, "the warning names the cause"
    assert np.sum(vectors * embedder.embed_with_pytorch(DOCUMENTS[:3]), axis=1).min() > 0.9999
    assert float(np.dot(query, embedder.embed_with_pytorch(["and the queries too"])[0])) > 0.9999
