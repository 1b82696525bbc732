"""Search at 100,000 passages, query embedding included: p50/p99 per mode, exhaustive and
through the ANN index ragtui builds at that size, and how much of the exhaustive top 5 the
ANN index keeps (recall@5) in every mode. With --sweep, the same for other index types and
search settings (partitions probed, HNSW ef, refine factor), to choose them.

The 100,000 passages are synthetic but built from real ones: each joins the first half of
one Python reference passage to the second half of another, and its vector is the
normalised sum of theirs plus noise; 8 passages make a document. Embedding 100,000 passages
for real would take most of an hour on this machine and tell nothing more about search.
Every timed query is embedded afresh with the real model (ONNX Runtime, as ragtui does) and
searched afresh: no result or embedding cache. The reference for recall is the same search
with the ANN index bypassed (`Index.ann_search = None`).

    .venv/bin/python bench/rag_search.py [--chunks 100000] [--passes 3] [--cache DIR] [--sweep]

--cache DIR keeps the table (and its indexes) between runs: building it takes minutes. A sweep
leaves its last index behind; the next run rebuilds ragtui's.
"""
from __future__ import annotations

import argparse
import json
import math
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
from ragtui.rag.index import ANN_SEARCH, AnnSearch, Index  # noqa: E402
from ragtui.rag.ingest import python_reference_topics  # noqa: E402
from ragtui.rag.loaders import load_restructured  # noqa: E402
from ragtui.rag.retriever import Retriever  # noqa: E402

MODES = ("vector", "fts", "hybrid")
PER_DOCUMENT = 8


def synthetic_corpus(embedder, size: int, rng: np.random.Generator):
    base = []
    for candidate in python_reference_topics():
        base += chunk_document(load_restructured(candidate.source, candidate.text, default_title=candidate.source))
    vectors = embedder.embed([c.searchable_text for c in base])
    for start in range(0, size, 10_000):  # a multiple of PER_DOCUMENT: a document's passages in one write
        n = min(10_000, size - start)
        a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
        mixed = vectors[a] + vectors[b] + rng.normal(0, 0.02, (n, vectors.shape[1])).astype(np.float32)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        chunks = []
        for row, (i, j) in enumerate(zip(a, b)):
            first, second = base[i], base[j]
            text = first.text[: len(first.text) // 2] + " " + second.text[len(second.text) // 2:]
            chunks.append(Chunk(f"/synthetic/doc{(start + row) // PER_DOCUMENT}.md", first.title, text, 0, len(text)))
        documents: dict[str, tuple[str, int]] = {}
        for chunk in chunks:
            documents[chunk.source] = (chunk.source, documents.get(chunk.source, ("", 0))[1] + 1)
        yield chunks, mixed.astype(np.float32), documents


def build(directory: Path, size: int, embedder) -> dict:
    """The table as `ragtui ingest` leaves it at this size: passages, documents, full-text
    and ANN indexes (reused from an earlier run when --cache holds it)."""
    meta_path = directory / "bench.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    index = Index(directory / "index")
    if meta.get("chunks") != size:
        index.reset()
        started = time.perf_counter()
        for chunks, vectors, documents in synthetic_corpus(embedder, size, np.random.default_rng(7)):
            index.add(chunks, vectors, documents)
        meta = {"chunks": size, "write_s": round(time.perf_counter() - started, 1)}
    elif meta.get("vector_index") == "ragtui's":
        return meta
    else:  # a sweep left another ANN index behind
        index.open()._chunks.drop_index("vector_idx")
    started = time.perf_counter()
    index.refresh_search_indexes()  # what `ragtui ingest` does: full-text index, and ANN index at this size
    meta.update(indexes_s=round(time.perf_counter() - started, 1), vector_index="ragtui's")
    meta_path.write_text(json.dumps(meta))
    return meta


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)}


def key(hit) -> tuple:
    return hit.source, hit.location, hit.text


def run(retriever: Retriever, mode: str, passes: int) -> tuple[list[float], dict[str, set]]:
    """Latency samples (the first pass warms up and is not counted) and each question's top 5."""
    samples, top = [], {}
    for pass_ in range(passes + 1):
        for question, _ in QUESTIONS:
            started = time.perf_counter()
            hits = retriever.search(question, k=5, mode=mode)
            if pass_:
                samples.append((time.perf_counter() - started) * 1000)
            top[question] = {key(h) for h in hits}
    return samples, top


def recall(found: dict[str, set], exact: dict[str, set]) -> float:
    return round(statistics.mean(len(found[q] & exact[q]) / max(1, len(exact[q])) for q in exact), 3)


def measure(index: Index, embedder, ann: AnnSearch | None, modes, passes: int, exact=None) -> dict:
    index.ann_search = ann
    retriever = Retriever(index, embedder)
    result = {}
    for mode in modes:
        samples, top = run(retriever, mode, passes)
        result[mode] = {**percentiles(samples), "top": top}
        if exact is not None:
            result[mode]["recall@5"] = recall(top, exact[mode]["top"])
    return result


def sweep(directory: Path, rows: int, embedder, exact: dict, passes: int, other_indexes: bool) -> list[dict]:
    """Search settings on the ANN index ragtui built, then other index types on the same table.
    HNSW needs ef >= the candidates fetched (CANDIDATES x refine factor)."""
    from lancedb.index import IvfFlat, IvfPq

    root = int(math.sqrt(rows))
    configs = [
        ("ragtui's", None, [AnnSearch(20, 60, 1), AnnSearch(20, 120, 1), AnnSearch(20, 200, 1),
                            AnnSearch(20, 300, 1), AnnSearch(20, 200, 5), AnnSearch(20, 400, 5),
                            AnnSearch(20, 400, 10)]),
        (f"IVF_FLAT, {root} partitions", IvfFlat(distance_type="cosine", num_partitions=root),
         [AnnSearch(n, 60, 1) for n in (10, 20, 40, 80)]),
        (f"IVF_PQ, {root} partitions, 48 sub-vectors",
         IvfPq(distance_type="cosine", num_partitions=root, num_sub_vectors=48),
         [AnnSearch(20, 60, 5), AnnSearch(40, 60, 10), AnnSearch(80, 60, 10)]),
    ]
    results = []
    for name, config, settings in configs if other_indexes else configs[:1]:
        built = None
        if config is not None:
            (directory / "bench.json").write_text(json.dumps(
                {**json.loads((directory / "bench.json").read_text()), "vector_index": name}))
            started = time.perf_counter()
            Index(directory / "index").open()._chunks.create_index("vector", config=config, replace=True)
            built = round(time.perf_counter() - started, 1)
        index = Index(directory / "index").open()  # searched as a new process would
        kind = [i.index_type for i in index._chunks.list_indices() if "vector" in i.columns] or ["no index"]
        for ann in settings:
            measured = measure(index, embedder, ann, ("vector", "hybrid"), passes, exact)
            row = {"index": f"{name} ({kind[0]})", "build_s": built, "nprobes": ann.nprobes, "ef": ann.ef,
                   "refine_factor": ann.refine_factor,
                   **{f"{m}_{k}": v for m in ("vector", "hybrid") for k, v in measured[m].items() if k != "top"}}
            results.append(row)
            print(json.dumps(row), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="keep the table here between runs")
    parser.add_argument("--sweep", action="store_true", help="also try other ANN settings")
    parser.add_argument("--other-indexes", action="store_true", help="with --sweep: IVF_FLAT and IVF_PQ too")
    args = parser.parse_args()

    embedder = shared_embedder(os.cpu_count())
    embedder.embed_query("warm up")
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.cache or Path(tmp)
        result = build(directory, args.chunks, embedder)
        index = Index(directory / "index").open()  # searched as `ragtui search` or the app would: reopened
        result["indexes"] = sorted(i.index_type for i in index._chunks.list_indices())
        exact = measure(index, embedder, None, MODES, args.passes)
        indexed = measure(index, embedder, ANN_SEARCH, MODES, args.passes, exact)
        result["ann_search"] = ANN_SEARCH.__dict__
        for mode in MODES:
            result[f"{mode}_exhaustive"] = {k: v for k, v in exact[mode].items() if k != "top"}
            result[mode] = {k: v for k, v in indexed[mode].items() if k != "top"}
            print(mode, "exhaustive", result[f"{mode}_exhaustive"], "indexed", result[mode], flush=True)

        started = time.perf_counter()
        for question, _ in QUESTIONS:
            embedder.embed_query(question)
        result["query_embedding_ms_mean"] = round((time.perf_counter() - started) * 1000 / len(QUESTIONS), 1)
        started = time.perf_counter()
        for question, _ in QUESTIONS:  # what it was before ONNX Runtime: sentence-transformers
            embedder.embed_with_pytorch([question])
        result["query_embedding_pytorch_ms_mean"] = round((time.perf_counter() - started) * 1000 / len(QUESTIONS), 1)

        if args.sweep:
            result["sweep"] = sweep(directory, args.chunks, embedder, exact, max(1, args.passes - 1),
                                    args.other_indexes)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
