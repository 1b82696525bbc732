"""Ingestion: documents embedded through ONNX Runtime's int8 graph (ragtui now) against
sentence-transformers (ragtui when issue 8 was filed, and what most tools do), both through
ragtui's whole pipeline in the same run; and re-ingesting an unchanged corpus of 1,000 files.

1. Throughput at equal quality. The Python language reference (pydoc_data.topics) is ingested
   into an empty index with the embedder already loaded (reading, chunking, embedding, LanceDB
   writes and the full-text index all count), once with each embedding path, alternating
   rounds. Equal quality: the two indexes' vectors for the same passage (cosine), and
   recall@1 of the 50 questions of bench/rag_questions.py (the first hit from the right topic)
   in vector and hybrid search on each index, its queries embedded the same way as its
   documents. (Retrieval on three corpora, both halves: bench/rag_quality.py.)
2. Unchanged re-ingest. 1,000 Markdown files are ingested once, then `ragtui ingest DIR`
   runs again as a user would (a new process: interpreter start and imports included).

    .venv/bin/python bench/rag_ingest.py [--rounds 2] [--files 1000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lancedb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rag_questions import QUESTIONS  # noqa: E402

from ragtui.rag.embed import shared_embedder  # noqa: E402
from ragtui.rag.index import CHUNKS, Index  # noqa: E402
from ragtui.rag.ingest import PYTHON_DOCS_PREFIX, Ingester, python_reference_topics  # noqa: E402


class PyTorchDocuments:
    """The embedder as it was: documents through sentence-transformers' encode()."""

    def __init__(self, embedder):
        self.embedder, self.dimensions = embedder, embedder.dimensions

    def embed(self, texts):
        return self.embedder.embed_with_pytorch(texts)

    def embed_query(self, text):
        return self.embedder.embed_with_pytorch([text])[0]


def recall_at_1(index: Index, embedder, mode: str) -> float:
    first = [index.search(q, embedder.embed_query(q), k=5, mode=mode)[:1] for q, _ in QUESTIONS]
    return round(statistics.mean(bool(hits) and hits[0].source == PYTHON_DOCS_PREFIX + expected
                                 for hits, (_, expected) in zip(first, QUESTIONS)), 3)


def vectors_by_passage(directory: Path) -> dict:
    table = lancedb.connect(str(directory)).open_table(CHUNKS).to_arrow()
    return dict(zip(zip(table["source"].to_pylist(), table["location"].to_pylist()),
                    np.array(table["vector"].to_pylist(), dtype=np.float32)))


def throughput(rounds: int) -> dict:
    embedder = shared_embedder(os.cpu_count())
    ways = {"sentence-transformers (before)": PyTorchDocuments(embedder), "ONNX Runtime int8 (ragtui)": embedder}
    for way in ways.values():
        way.embed(["warm up both paths alike"] * 64)
    rates: dict[str, list[float]] = {name: [] for name in ways}
    quality: dict[str, dict] = {}
    vectors: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds):
            for name, way in ways.items():
                directory = Path(tmp) / f"{round_}-{len(rates[name])}-{name[:4]}"
                index = Index(directory)
                report = Ingester(index, lambda: way).ingest([], python_docs=True)
                rates[name].append(report.chunks / report.seconds)
                print(f"{name}: {rates[name][-1]:.1f} chunks/s ({report.chunks} chunks; "
                      f"embedding {report.embed_seconds:.1f}s of {report.seconds:.1f}s)", flush=True)
                if round_ == 0:
                    quality[name] = {mode: recall_at_1(index, way, mode) for mode in ("vector", "hybrid")}
                    vectors[name] = vectors_by_passage(directory)
    before, after = (vectors[name] for name in ways)
    assert before.keys() == after.keys()
    cosines = [float(np.dot(before[k], after[k])) for k in before]
    (slow, slow_rates), (fast, fast_rates) = rates.items()
    return {"chunks": report.chunks, **{f"{name} chunks/s": round(statistics.median(r), 1) for name, r in rates.items()},
            "speed-up": round(statistics.median(f / s for f, s in zip(fast_rates, slow_rates)), 2),
            "recall@1": quality, "cosine between the two indexes' vectors for a passage":
            {"min": round(min(cosines), 4), "mean": round(statistics.mean(cosines), 4)}}


def unchanged_reingest(files: int) -> dict:
    topics = [c.text for c in python_reference_topics()]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        for i in range(files):
            folder = corpus / f"part{i % 20:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            text = rng.choice(topics)
            start = rng.randrange(0, max(1, len(text) - 600))
            (folder / f"note{i:04d}.md").write_text(f"# Note {i}\n\n{text[start:start + 600]}\n")
        env = {**os.environ, "RAGTUI_DATA_DIR": str(Path(tmp) / "data"),
               "RAGTUI_CONFIG": str(Path(tmp) / "none.toml"), "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, "-m", "ragtui", "ingest", "--json", str(corpus)]
        started = time.perf_counter()
        first = json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)
        wall = time.perf_counter() - started
    assert again["unchanged"] == files and again["chunks"] == 0, again
    return {"files": files, "first_ingest_s": round(first_seconds, 1), "first_chunks": first["chunks"],
            "unchanged_reingest_wall_s": round(wall, 2), "unchanged_reingest_in_run_s": round(again["seconds"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--files", type=int, default=1000, help="0: skip the re-ingest part")
    args = parser.parse_args()
    result = {"throughput": throughput(args.rounds)}
    if args.files:
        result["reingest"] = unchanged_reingest(args.files)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
