"""Retrieval quality over the Python language reference: recall@1, recall@5 and MRR@10 for
ragtui's vector, full-text and hybrid search, against a naive baseline (fixed 150-word
chunks, no headings, vector search only) using the same embedder.

A result is relevant when it comes from the topic that answers the question, or when its
text is also part of that topic (the reference repeats some topics inside bigger ones:
"while" inside "compound", "customization" inside "specialnames").

    .venv/bin/python bench/rag_quality.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rag_questions import QUESTIONS  # noqa: E402

from ragtui.rag.embed import shared_embedder  # noqa: E402
from ragtui.rag.index import Index  # noqa: E402
from ragtui.rag.ingest import PYTHON_DOCS_PREFIX, Ingester  # noqa: E402

K = 10


def naive_chunks(topics: dict[str, str], words: int = 150) -> list[tuple[str, str]]:
    chunks = []
    for name, text in topics.items():
        tokens = text.split()
        for start in range(0, len(tokens), words):
            chunks.append((name, " ".join(tokens[start:start + words])))
    return chunks


def relevant(topic: str, text: str, expected: str, topics: dict[str, str]) -> bool:
    if topic == expected:
        return True
    normalized = " ".join(text.split())
    return len(normalized) > 80 and normalized in " ".join(topics[expected].split())


def scores(ranked: list[list[bool]]) -> dict[str, float]:
    n = len(ranked)
    first = [next((i for i, hit in enumerate(r) if hit), None) for r in ranked]
    return {
        "recall@1": round(sum(f == 0 for f in first) / n, 3),
        "recall@5": round(sum(f is not None and f < 5 for f in first) / n, 3),
        "mrr@10": round(sum(1 / (f + 1) for f in first if f is not None) / n, 3),
    }


def main() -> None:
    from pydoc_data.topics import topics

    embedder = shared_embedder(os.cpu_count())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Path(tmp) / "index")
        report = Ingester(index, lambda: embedder).ingest([], python_docs=True)
        for mode in ("vector", "fts", "hybrid"):
            ranked = []
            for question, expected in QUESTIONS:
                hits = index.search(question, embedder.embed_query(question), k=K, mode=mode)
                ranked.append([relevant(h.source.removeprefix(PYTHON_DOCS_PREFIX), h.text, expected, topics)
                               for h in hits])
            results[f"ragtui {mode}"] = {**scores(ranked), "chunks": report.chunks}

    started = time.perf_counter()
    baseline = naive_chunks(topics)
    vectors = embedder.embed([text for _, text in baseline])
    ranked = []
    for question, expected in QUESTIONS:
        similarity = vectors @ embedder.embed_query(question)
        top = np.argsort(-similarity)[:K]
        ranked.append([relevant(baseline[i][0], baseline[i][1], expected, topics) for i in top])
    results["naive 150-word chunks, vector"] = {**scores(ranked), "chunks": len(baseline)}

    print(f"{len(QUESTIONS)} questions over {len(topics)} Python reference topics "
          f"(baseline embedded in {time.perf_counter() - started:.0f}s)")
    print(f"{'method':<32} {'recall@1':>9} {'recall@5':>9} {'MRR@10':>8} {'chunks':>7}")
    for method, row in results.items():
        print(f"{method:<32} {row['recall@1']:>9.3f} {row['recall@5']:>9.3f} {row['mrr@10']:>8.3f} {row['chunks']:>7}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
