"""Search latency at 100,000 chunks, query embedding included: p50/p99 per mode, with and
without the ANN index ragtui builds at that size.

The 100,000 passages are synthetic but built from real ones: each joins the first half of
one Python reference passage to the second half of another, and its vector is the
normalised sum of theirs plus noise. Embedding 100,000 passages for real would take most of
an hour on this machine and tell nothing more about search latency. Every timed query is
embedded afresh with the real model (ONNX Runtime, as ragtui does) and searched afresh: no
result or embedding cache.

    .venv/bin/python bench/rag_search.py [--chunks 100000] [--passes 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rag_questions import QUESTIONS  # noqa: E402

from ragtui.rag.chunking import chunk_document  # noqa: E402
from ragtui.rag.documents import Chunk  # noqa: E402
from ragtui.rag.embed import shared_embedder  # noqa: E402
from ragtui.rag.index import Index  # noqa: E402
from ragtui.rag.ingest import python_reference_topics  # noqa: E402
from ragtui.rag.loaders import load_restructured  # noqa: E402
from ragtui.rag.retriever import Retriever  # noqa: E402


def synthetic_corpus(embedder, size: int, rng: np.random.Generator):
    base = []
    for candidate in python_reference_topics():
        base += chunk_document(load_restructured(candidate.source, candidate.text, default_title=candidate.source))
    vectors = embedder.embed([c.searchable_text for c in base])
    for start in range(0, size, 10_000):
        n = min(10_000, size - start)
        a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
        mixed = vectors[a] + vectors[b] + rng.normal(0, 0.02, (n, vectors.shape[1])).astype(np.float32)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        chunks = []
        for row, (i, j) in enumerate(zip(a, b)):
            first, second = base[i], base[j]
            text = first.text[: len(first.text) // 2] + " " + second.text[len(second.text) // 2:]
            chunks.append(Chunk(f"/synthetic/doc{(start + row) // 8}.md", first.title, text, 0, len(text)))
        yield chunks, mixed.astype(np.float32)


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1), "n": len(ordered)}


def time_queries(retriever: Retriever, passes: int, mode: str) -> list[float]:
    samples = []
    for _ in range(passes):
        for question, _ in QUESTIONS:
            started = time.perf_counter()
            retriever.search(question, k=5, mode=mode)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    from lancedb.index import FTS

    embedder = shared_embedder(os.cpu_count())
    rng = np.random.default_rng(7)
    result = {"chunks": args.chunks}
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Path(tmp) / "index")
        started = time.perf_counter()
        for chunks, vectors in synthetic_corpus(embedder, args.chunks, rng):
            index.add(chunks, vectors, {})
        result["write_s"] = round(time.perf_counter() - started, 1)
        retriever = Retriever(index, embedder)
        embedder.embed_query("warm up")

        # Exhaustive vector search first: the full-text index is needed by every mode.
        started = time.perf_counter()
        index._chunks.create_index("content", config=FTS(), replace=True)
        result["fts_index_s"] = round(time.perf_counter() - started, 1)
        for mode in ("vector", "hybrid"):
            time_queries(retriever, 1, mode)  # warm the page cache
            result[f"{mode}_exhaustive"] = percentiles(time_queries(retriever, args.passes, mode))
            print(mode, "exhaustive", result[f"{mode}_exhaustive"], flush=True)
        exact = {q: [h.text for h in retriever.search(q, k=5, mode="vector")] for q, _ in QUESTIONS}

        started = time.perf_counter()
        index.refresh_search_indexes()  # what `ragtui ingest` does: ANN index at this size
        result["ann_index_s"] = round(time.perf_counter() - started, 1)
        result["indexes"] = [i.index_type for i in index._chunks.list_indices()]
        # Searched as `ragtui search` or the app would: a new process opening the index.
        index = Index(index.directory).open()
        retriever = Retriever(index, embedder)
        for mode in ("vector", "fts", "hybrid"):
            time_queries(retriever, 1, mode)
            result[mode] = percentiles(time_queries(retriever, args.passes, mode))
            print(mode, "indexed", result[mode], flush=True)
        found = [len(set(exact[q]) & {h.text for h in retriever.search(q, k=5, mode="vector")}) / 5
                 for q, _ in QUESTIONS]
        result["ann_recall@5_vs_exhaustive"] = round(sum(found) / len(found), 3)
        started = time.perf_counter()
        for question, _ in QUESTIONS:
            embedder.embed_query(question)
        result["query_embedding_ms_mean"] = round((time.perf_counter() - started) * 1000 / len(QUESTIONS), 1)
        started = time.perf_counter()
        for question, _ in QUESTIONS:  # what it was before ONNX Runtime: sentence-transformers
            embedder.embed([question])
        result["query_embedding_pytorch_ms_mean"] = round((time.perf_counter() - started) * 1000 / len(QUESTIONS), 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
