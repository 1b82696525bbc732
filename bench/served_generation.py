"""Tokens/s through ragtui's served model vs a raw OpenAI-compatible streaming client, same server.

One `llama_cpp.server` on the default GGUF. Each round runs, in an order that rotates:

- raw      a bare httpx2 SSE loop over /v1/chat/completions (the floor: nothing but the stream);
- openai   the `openai` package's streaming client, when it is installed;
- served   ragtui's ServedModel.generate;
- ask      ragtui's ChatService.ask (retrieval, prompt, answer filter, session store), what
           `ragtui ask --llm-url` and the app run.

All get the same messages (the prompt ChatService builds for QUESTION over the user guide),
max_tokens and temperature 0, so they decode the same tokens. Tokens/s is counted the same
way for all: (content chunks − 1) / (last chunk − first chunk).

    flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/served_generation.py [--rounds 5]
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2  # noqa: E402

from ragtui.config import load_settings  # noqa: E402
from ragtui.rag.chat import ChatService  # noqa: E402
from ragtui.sessions import open_store  # noqa: E402
from tests.rag.llama_server import LlamaServer  # noqa: E402

QUESTION = "Explain in detail how ragtui keeps conversations: the store modes, time to live and pinning."


def rate(first: float | None, last: float | None, chunks: int) -> float:
    return (chunks - 1) / (last - first) if chunks > 1 and last > first else 0.0


def raw_client(url: str, messages: list[dict], max_tokens: int) -> dict:
    body = {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0, "stream": True}
    started, first, last, pieces = time.perf_counter(), None, None, []
    with httpx2.stream("POST", f"{url}/chat/completions", json=body, timeout=300) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            piece = json.loads(line[6:])["choices"][0]["delta"].get("content")
            if piece:
                last = time.perf_counter()
                first = first or last
                pieces.append(piece)
    return {"tokens_per_s": rate(first, last, len(pieces)), "tokens": len(pieces),
            "ttft_ms": ((first or last or started) - started) * 1000, "text": "".join(pieces)}


def openai_client(url: str, messages: list[dict], max_tokens: int) -> dict:
    import openai

    client = openai.OpenAI(base_url=url, api_key="none")
    started, first, last, pieces = time.perf_counter(), None, None, []
    for chunk in client.chat.completions.create(model="smollm2", messages=messages, max_tokens=max_tokens,
                                                temperature=0.0, stream=True):
        piece = chunk.choices[0].delta.content if chunk.choices else None
        if piece:
            last = time.perf_counter()
            first = first or last
            pieces.append(piece)
    client.close()
    return {"tokens_per_s": rate(first, last, len(pieces)), "tokens": len(pieces),
            "ttft_ms": ((first or last or started) - started) * 1000, "text": "".join(pieces)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--server-threads", type=int, default=1,
                        help="llama.cpp threads in the server (1 leaves a core to the clients on 2 cores)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ragtui-served-bench-"))
    server = LlamaServer(work, threads=args.server_threads).start()
    try:
        settings = load_settings({"store": "memory", "data_dir": str(work / "data"), "llm_url": server.url,
                                  "max_tokens": args.max_tokens}, env={})
        store = open_store("memory")
        service = ChatService(store, settings)
        service.load(progress=lambda step: print(step, file=sys.stderr))  # indexes the user guide
        served = service._model
        prompts: list[str] = []
        generate = served.generate
        served.generate = lambda prompt, **kw: prompts.append(prompt) or generate(prompt, **kw)
        session = store.create_session("bench")

        def ask() -> dict:
            answer = service.ask(session, QUESTION, use_history=False)
            return {"tokens_per_s": answer.tokens_per_s, "tokens": answer.completion_tokens,
                    "ttft_ms": answer.ttft_ms, "text": answer.text}

        ask()  # warm-up, and the prompt every client is given
        messages = served.messages_for(prompts[-1])
        clients = {
            "raw": lambda: raw_client(server.url, messages, args.max_tokens),
            "served": lambda: _served(served, prompts[-1], args.max_tokens),
            "ask": ask,
        }
        try:
            import openai  # noqa: F401

            clients["openai"] = lambda: openai_client(server.url, messages, args.max_tokens)
        except ImportError:
            pass
        names = list(clients)
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                runs[name].append(clients[name]())
        store.close()
    finally:
        server.stop()

    summary = {
        name: {"tokens_per_s_median": statistics.median(r["tokens_per_s"] for r in results),
               "tokens_per_s": [round(r["tokens_per_s"], 1) for r in results],
               "tokens": sorted({r["tokens"] for r in results}),
               "ttft_ms_median": statistics.median(r["ttft_ms"] for r in results)}
        for name, results in runs.items()
    }
    floor = summary["raw"]["tokens_per_s_median"]
    for name in summary:
        summary[name]["ratio_to_raw"] = summary[name]["tokens_per_s_median"] / floor if floor else 0.0
    same_text = len({r["text"] for r in runs["raw"] + runs["served"]}) == 1
    if args.json:
        print(json.dumps({"summary": summary, "same_text_raw_served": same_text, "rounds": args.rounds,
                          "max_tokens": args.max_tokens, "server_threads": args.server_threads}))
        return 0
    print(f"{args.rounds} rounds, max_tokens {args.max_tokens}, server threads {args.server_threads}; "
          f"raw and served decoded the same text: {same_text}")
    print(f"{'client':<8} {'tok/s median':>12} {'ratio':>6} {'TTFT ms':>8} {'tokens':>8}  runs")
    for name, s in summary.items():
        print(f"{name:<8} {s['tokens_per_s_median']:>12.1f} {s['ratio_to_raw']:>6.2f} {s['ttft_ms_median']:>8.0f} "
              f"{'/'.join(map(str, s['tokens'])):>8}  {s['tokens_per_s']}")
    return 0


def _served(model, prompt: str, max_tokens: int) -> dict:
    generation = model.generate(prompt, max_tokens=max_tokens)
    return {"tokens_per_s": generation.tokens_per_s, "tokens": generation.completion_tokens,
            "ttft_ms": generation.ttft_ms, "text": generation.text}


if __name__ == "__main__":
    sys.exit(main())
