"""Ingestion: ragtui's whole pipeline against raw SentenceTransformer.encode on the same passages,
and re-ingesting an unchanged corpus of 1,000 files.

1. Throughput. The Python language reference (pydoc_data.topics) is ingested into an empty
   index with the embedder already loaded: reading, chunking, embedding, LanceDB writes and
   the full-text index all count. Raw is `SentenceTransformer.encode(texts)` with its
   defaults on exactly the passages ragtui embeds. Alternating rounds; median ratio.
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

from ragtui.rag.chunking import chunk_document
from ragtui.rag.embed import shared_embedder
from ragtui.rag.index import Index
from ragtui.rag.ingest import Ingester, python_reference_topics
from ragtui.rag.loaders import load_restructured


def reference_passages() -> list[str]:
    texts = []
    for candidate in python_reference_topics():
        doc = load_restructured(candidate.source, candidate.text, default_title=candidate.source)
        texts += [c.searchable_text for c in chunk_document(doc)]
    return texts


def throughput(rounds: int) -> dict:
    embedder = shared_embedder(os.cpu_count())
    texts = reference_passages()
    embedder.model.encode(texts[:64])  # warm up both paths alike
    raw_rates, ours_rates = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        embedder.model.encode(texts)
        raw_rates.append(len(texts) / (time.perf_counter() - started))
        with tempfile.TemporaryDirectory() as tmp:
            report = Ingester(Index(Path(tmp)), lambda: embedder).ingest([], python_docs=True)
        assert report.chunks == len(texts)
        ours_rates.append(report.chunks / report.seconds)
        print(f"raw encode {raw_rates[-1]:.1f} chunks/s, ragtui ingest {ours_rates[-1]:.1f} chunks/s "
              f"(embedding {report.embed_seconds:.1f}s of {report.seconds:.1f}s)", flush=True)
    ratios = [o / r for o, r in zip(ours_rates, raw_rates)]
    return {"chunks": len(texts), "raw_chunks_per_s": round(statistics.median(raw_rates), 1),
            "ragtui_chunks_per_s": round(statistics.median(ours_rates), 1),
            "ratio": round(statistics.median(ratios), 3)}


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
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    result = {"throughput": throughput(args.rounds), "reingest": unchanged_reingest(args.files)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
