"""The admin filter at scale: `find_sessions` over 200,000 sessions (20 users × 10,000).

    flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/admin_find.py [--users 20 --sessions 10000]

Starts its own redis-server, fills it with tests/scale_fill.py, then for each filter prints:
the first find (a new filter), the next page (offset 100) and the same page again (what the
admin panel's refresh every 2 s asks); the longest single command Redis ran meanwhile
(SLOWLOG); and what another client waited for a PING sent every millisecond during the first
find (the cost to every other user while an admin types).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ragtui.sessions import open_store  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.scale_fill import fill  # noqa: E402

FILTERS = (("zzz", "no match"), ("user0", "10 users' names: 100,000 matches"),
           ("question 12", "titles: 2,220 matches"), ("user07-000003", "one session id"))


class Pinger(threading.Thread):
    """Another client: one PING every millisecond; how long each waited."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.stop = threading.Event()
        self.waits: list[float] = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            self.client.ping()
            self.waits.append(time.perf_counter() - started)
            time.sleep(0.001)


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        try:
            client = redis.Redis.from_url(server.url, decode_responses=True)
            took = fill(client, users=args.users, sessions_per_user=args.sessions)
            print(f"filled {args.users} users × {args.sessions:,} sessions in {took:.1f} s")
            client.config_set("slowlog-log-slower-than", 1000)  # µs: every command over 1 ms
            client.config_set("slowlog-max-len", 100_000)
            admin = open_store(server.url, data_dir=Path(tmp) / "data")
            for text, what in FILTERS:
                client.slowlog_reset()
                pinger = Pinger(server.url)
                pinger.start()
                first, rows = timed(lambda: admin.find_sessions(text, limit=101))
                pinger.stop.set()
                pinger.join()
                slow = client.slowlog_get(100_000)
                longest = max((entry["duration"] for entry in slow), default=0) / 1000
                waits = sorted(pinger.waits)
                nxt, _ = timed(lambda: admin.find_sessions(text, limit=101, offset=100))
                again, _ = timed(lambda: admin.find_sessions(text, limit=101))
                print(f"{text!r} ({what}): first {first:.0f} ms ({len(rows)} rows), next page {nxt:.1f} ms, "
                      f"same page again {again:.1f} ms; longest Redis command {longest:.1f} ms "
                      f"({len(slow)} over 1 ms); another client's PING during the find: "
                      f"p50 {waits[len(waits) // 2] * 1000:.2f} ms, max {waits[-1] * 1000:.1f} ms (n={len(waits)})")
            admin.close()
            client.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
