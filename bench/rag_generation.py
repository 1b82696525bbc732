"""`ragtui ask` against raw llama-cpp-python: same model, prompt, threads, sampling, max_tokens.

Both run as child processes and are timed from outside, by timestamping their streamed
stdout. Model load is excluded: each child says on stderr when it is ready (ragtui's own
"ready: …" progress line; the raw script prints "ready"), and time to first token is
counted from there. ragtui's TTFT therefore includes everything a user waits for after the
app is up: saving the question, embedding it, hybrid search, building the prompt.

    .venv/bin/python bench/rag_generation.py [--runs 3] [--max-tokens 128] [--store local]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
QUESTION = "How long can a session stay idle before it expires, and how do I keep one forever?"

RAW_SCRIPT = r"""
import json, sys
from llama_cpp import Llama
path, n_ctx, threads, max_tokens, messages_file, sampling = sys.argv[1:7]
messages = json.load(open(messages_file))
llm = Llama(path, n_ctx=int(n_ctx), n_threads=int(threads), n_threads_batch=int(threads), verbose=False)
print("ready", file=sys.stderr, flush=True)
count = 0
for chunk in llm.create_chat_completion(messages, max_tokens=int(max_tokens), temperature=0.0,
                                        stream=True, **json.loads(sampling)):
    piece = chunk["choices"][0]["delta"].get("content")
    if piece:
        count += 1
        sys.stdout.write(piece)
        sys.stdout.flush()
print(f"\n{count} tokens", file=sys.stderr, flush=True)
"""


def timed_run(command: list[str], env: dict, ready: re.Pattern, tokens: re.Pattern) -> dict:
    """Run a child; return when it was ready, its first/last answer byte, and its token count."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0)
    out: list[tuple[float, bytes]] = []
    err: list[tuple[float, bytes]] = []

    def pump(stream, sink):
        while chunk := stream.read(65536):
            sink.append((time.perf_counter(), chunk))

    threads = [threading.Thread(target=pump, args=(process.stdout, out)),
               threading.Thread(target=pump, args=(process.stderr, err))]
    for t in threads:
        t.start()
    process.wait()
    for t in threads:
        t.join()
    stderr = b"".join(c for _, c in err).decode()
    if process.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{stderr}")
    ready_at = _time_of(err, ready)
    stdout = b"".join(c for _, c in out).decode()
    answer = stdout.split("\n\nSources:")[0].rstrip("\n")
    answer_bytes = len(answer.encode())
    first_at, last_at, seen = out[0][0], None, 0
    for at, chunk in out:  # the read that delivered the answer's last byte
        seen += len(chunk)
        if seen >= answer_bytes:
            last_at = at
            break
    count = int(tokens.search(stderr).group(1))
    return {"ttft_ms": (first_at - ready_at) * 1000, "tokens": count,
            "tokens_per_s": (count - 1) / (last_at - first_at) if last_at > first_at else 0.0,
            "text": answer}


def _time_of(chunks, pattern: re.Pattern) -> float:
    text = b""
    for at, chunk in chunks:
        text += chunk
        if pattern.search(text.decode(errors="replace")):
            return at
    raise SystemExit(f"marker {pattern.pattern!r} never appeared")


def prepare(data_dir: Path, env: dict, store: str) -> tuple[list[dict], dict]:
    """Index the user guide (a first `ragtui ask`), then the exact messages ragtui will send."""
    subprocess.run([PYTHON, "-m", "ragtui", "--store", store, "ask", "--no-history", "warm up"],
                   env=env, check=True, capture_output=True)
    sys.path.insert(0, str(REPO))
    from ragtui.config import load_settings
    from ragtui.rag.chat import MIN_SIMILARITY, answer_prompt
    from ragtui.rag.embed import shared_embedder
    from ragtui.rag.llm import shared_model
    from ragtui.rag.models import resolve_model
    from ragtui.rag.retriever import Retriever, open_index

    settings = load_settings({"data_dir": str(data_dir), "threads": int(env["RAGTUI_THREADS"]),
                              "max_tokens": int(env["RAGTUI_MAX_TOKENS"])})
    model = shared_model(resolve_model(None, data_dir), settings.threads, settings.n_ctx)
    embedder = shared_embedder(settings.threads)
    hits = Retriever(open_index(data_dir), embedder).search(QUESTION, k=settings.top_k, mode=settings.search_mode)
    passages = [dataclasses.replace(h, n=n)  # numbered as ChatService.ask numbers them
                for n, h in enumerate((h for h in hits if h.similarity >= MIN_SIMILARITY), start=1)]
    # The prompt ChatService builds (evidence sentences for a tiny model), and its token limit.
    prompt, *_ = answer_prompt(model, embedder.embed_query, QUESTION, passages, [], settings.max_tokens)
    return prompt.messages, {"path": str(model.model.path), "n_ctx": model.n_ctx, "prompt_tokens": prompt.tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--store", default="local", help="ragtui's session store (local fsyncs each turn)")
    args = parser.parse_args()
    from ragtui.rag.llm import SAMPLING

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        env = {**os.environ, "RAGTUI_DATA_DIR": str(data_dir), "RAGTUI_CONFIG": str(Path(tmp) / "none.toml"),
               "RAGTUI_THREADS": str(args.threads), "RAGTUI_MAX_TOKENS": str(args.max_tokens),
               "HF_HUB_OFFLINE": "1"}
        messages, model = prepare(data_dir, env, args.store)
        messages_file = Path(tmp) / "messages.json"
        messages_file.write_text(json.dumps(messages))
        raw_cmd = [PYTHON, "-c", RAW_SCRIPT, model["path"], str(model["n_ctx"]), str(args.threads),
                   str(args.max_tokens), str(messages_file), json.dumps(SAMPLING)]
        ragtui_cmd = [PYTHON, "-m", "ragtui", "--store", args.store, "ask", "--no-history", QUESTION]
        pairs = []
        for run in range(args.runs):
            raw = timed_run(raw_cmd, env, re.compile(r"^ready", re.M), re.compile(r"(\d+) tokens"))
            ours = timed_run(ragtui_cmd, env, re.compile(r"ready: "), re.compile(r"(\d+) tokens, "))
            pairs.append((raw, ours))
            print(f"run {run + 1}: raw {raw['tokens_per_s']:.1f} tok/s, TTFT {raw['ttft_ms']:.0f} ms | "
                  f"ragtui {ours['tokens_per_s']:.1f} tok/s, TTFT {ours['ttft_ms']:.0f} ms | "
                  f"tokens {raw['tokens']}/{ours['tokens']}, same text: {raw['text'] == ours['text']}",
                  flush=True)
    ratio = statistics.median(o["tokens_per_s"] / r["tokens_per_s"] for r, o in pairs)
    overhead = statistics.median(o["ttft_ms"] - r["ttft_ms"] for r, o in pairs)
    print(json.dumps({
        "model": Path(model["path"]).name, "n_ctx": model["n_ctx"], "prompt_tokens": model["prompt_tokens"],
        "threads": args.threads, "max_tokens": args.max_tokens, "store": args.store, "runs": args.runs,
        "raw_tokens_per_s": round(statistics.median(r["tokens_per_s"] for r, _ in pairs), 1),
        "ragtui_tokens_per_s": round(statistics.median(o["tokens_per_s"] for _, o in pairs), 1),
        "tokens_per_s_ratio": round(ratio, 3),
        "raw_ttft_ms": round(statistics.median(r["ttft_ms"] for r, _ in pairs), 1),
        "ragtui_ttft_ms": round(statistics.median(o["ttft_ms"] for _, o in pairs), 1),
        "ttft_overhead_ms": round(overhead, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
