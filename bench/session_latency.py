"""Latencies a user feels when opening ragtui: restoring a session, listing sessions.

    .venv/bin/python bench/session_latency.py         # starts its own redis-server

1. Restore a 100-message session: get_session + the last 20 messages (p50, p99).
2. First page (50) of one user's sessions with 100,000 sessions in Redis (p50, p99),
   for a user who owns all of them and for one who owns 100 among them.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ragtui.sessions import open_store  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    return f"p50 {statistics.median(ordered):.3f} ms   p99 {ordered[int(len(ordered) * 0.99) - 1]:.3f} ms"


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    server = RedisServer(Path(tempfile.mkdtemp())).start()
    try:
        store = open_store(server.url, data_dir=tempfile.mkdtemp())
        sid = store.create_session("alice")
        for i in range(50):
            store.add_message(sid, "user", f"question {i} " * 10)
            store.add_message(sid, "assistant", f"answer {i} " * 60, [{"n": 1, "source": "guide.md"}])

        def restore():
            store.get_session(sid)
            store.get_last_n_messages(sid, 20)

        print(f"restore 100-message session (get_session + last 20): {percentiles(timed(restore, 2000))}")

        fresh = open_store(server.url, data_dir=tempfile.mkdtemp())  # new process's view: no caches
        started = time.perf_counter()
        for i in range(100_000):
            fresh.create_session("bulk" if i % 1000 else f"user{i // 1000}", f"session {i}")
        for i in range(100):
            fresh.create_session("bob", f"bob's {i}")
        print(f"(created 100,100 sessions in {time.perf_counter() - started:.1f} s)")
        reader = open_store(server.url, data_dir=tempfile.mkdtemp())
        listings = {
            "bulk (owns 99,900)": lambda: reader.get_all_active_sessions("bulk", limit=50),
            "bob (owns 100)": lambda: reader.get_all_active_sessions("bob", limit=50),
            "admin (all users)": lambda: reader.get_all_active_sessions(None, limit=50),
        }
        samples = {name: [] for name in listings}
        for _ in range(300):  # interleaved, so noise falls on all three alike
            for name, page in listings.items():
                samples[name] += timed(page, 1)
        for name, got in samples.items():
            print(f"first page (50) of {name}, 100,100 sessions in Redis: {percentiles(got)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
