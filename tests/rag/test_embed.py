"""Documents are embedded through ONNX Runtime in length-sorted, padded batches: every vector
must be the one sentence-transformers gives for the same text, in the caller's order."""
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
] + [f"Passage {i}: " + "words of a passage " * (i % 17) for i in range(40)]  # many lengths: batches pad


def test_document_vectors_match_sentence_transformers(embedder):
    vectors = embedder.embed(DOCUMENTS)

    assert embedder._encoder, "documents fell back to PyTorch: the fast path is not being tested"
    assert vectors.dtype == np.float32 and vectors.shape == (len(DOCUMENTS), embedder.dimensions)
    reference = embedder.embed_with_pytorch(DOCUMENTS)
    cosines = np.sum(vectors * reference, axis=1)
    assert cosines.min() > 0.9999, [DOCUMENTS[i][:40] for i in np.flatnonzero(cosines <= 0.9999)]


def test_a_batch_gives_each_text_the_vector_it_gets_alone(embedder):
    texts = DOCUMENTS[:8]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([text])[0] for text in reversed(texts)])[::-1]
    assert np.sum(together * alone, axis=1).min() > 0.9999


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
