"""Embedding one question: sentence-transformers (PyTorch) beside ragtui's ONNX Runtime query
encoder on 1 and 2 threads, the same 50 questions, alternating; plus how long each takes to
be ready in a fresh process (imports and model load).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/query_embedding.py [--passes 4]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rag_questions import QUESTIONS  # noqa: E402

from ragtui.rag.embed import MAX_TOKENS, shared_embedder  # noqa: E402
from ragtui.rag.query_encoder import OnnxEncoder, encoder_path  # noqa: E402

READY = """
import time; started = time.perf_counter()
from ragtui.rag.embed import Embedder
embedder = Embedder(threads={threads})
{call}
print(time.perf_counter() - started)
"""


def ready_s(call: str) -> float:
    code = READY.format(threads=os.cpu_count(), call=call)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--busy", action="store_true", help="one core kept busy while timing")
    args = parser.parse_args()
    embedder = shared_embedder(os.cpu_count())
    embedder.embed_query("warm up")  # exports the encoder if the cache has none
    two_threads = OnnxEncoder(encoder_path(embedder.model_dir, embedder.cache_dir),
                               embedder.model_dir / "tokenizer.json", max_tokens=MAX_TOKENS, threads=2)
    ways = {
        "sentence-transformers (PyTorch), all cores": lambda q: embedder.embed([q])[0],
        "ragtui: ONNX Runtime, 1 thread": embedder.embed_query,
        "ONNX Runtime, 2 threads": two_threads,
    }
    samples: dict[str, list[float]] = {name: [] for name in ways}
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    for round_ in range(args.passes + 1):
        for name, embed in ways.items():
            for question, _ in QUESTIONS:
                started = time.perf_counter()
                embed(question)
                if round_:  # the first round warms up
                    samples[name].append((time.perf_counter() - started) * 1000)
    if spinner:
        spinner.kill()
    for name, values in samples.items():
        values.sort()
        print(f"{name:45s} p50 {statistics.median(values):6.1f} ms   p99 {values[int(len(values) * 0.99)]:6.1f} ms")
    onnx, torch = ready_s("embedder.embed_query('x')"), ready_s("embedder.embed(['x'])")
    print(f"ready in a new process: ONNX Runtime (export cached) {onnx:.2f} s, sentence-transformers {torch:.2f} s")


if __name__ == "__main__":
    main()
