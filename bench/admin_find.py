"""The admin filter at scale: `find_sessions` over 200,000 sessions (20 users × 10,000).

    flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/admin_find.py [--users 20 --sessions 10000]

Starts its own redis-server, fills it with tests/scale_fill.py, then for each filter prints:
the first find (a new filter), the next page (offset 100) and the same page again (what the
admin panel's refresh every 2 s asks); the longest single command Redis ran meanwhile and
the search scripts' durations (SLOWLOG); and what another client waited for a PING sent every
millisecond during the first find (the cost to every other user while an admin types).
`--slice N` tries another number of sessions per search step.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import multiprocessing
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ragtui.sessions import open_store  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.scale_fill import fill  # noqa: E402

FILTERS = (("zzz", "no match"), ("user0", "10 users' names: 100,000 matches"),
           ("question 12", "titles: 2,220 matches"), ("user07-000003", "one session id"))


def ping_until(url: str, stop, ready, waits) -> None:
    """Another client, in a process of its own (no GIL shared with the find): one PING every
    millisecond until `stop`; how long each waited goes to `waits`."""
    client = redis.Redis.from_url(url)
    client.ping()
    ready.set()
    took = []
    while not stop.is_set():
        started = time.perf_counter()
        client.ping()
        took.append(time.perf_counter() - started)
        time.sleep(0.001)
    waits.put(took)


class Pinger:
    def __init__(self, url: str) -> None:
        self.stop, ready, self.waits = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
        self.process = multiprocessing.Process(target=ping_until, args=(url, self.stop, ready, self.waits))
        self.process.start()
        ready.wait(30)

    def finish(self) -> list[float]:
        self.stop.set()
        took = self.waits.get(timeout=30)
        self.process.join()
        return sorted(took)


def spread(ms: list[float], what: str) -> str:
    if not ms:
        return f"no {what}"
    return f"{len(ms)} {what}: p50 {ms[len(ms) // 2]:.2f} ms, max {ms[-1]:.1f} ms, total {sum(ms):.0f} ms"


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--slice", type=int, help="sessions per search step (the store's FIND_SLICE)")
    args = parser.parse_args()
    if args.slice:
        from ragtui.sessions import store
        store.FIND_SLICE = args.slice
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        try:
            client = redis.Redis.from_url(server.url, decode_responses=True)
            took = fill(client, users=args.users, sessions_per_user=args.sessions)
            print(f"filled {args.users} users × {args.sessions:,} sessions in {took:.1f} s")
            client.config_set("slowlog-log-slower-than", 0)  # every command, with its duration
            client.config_set("slowlog-max-len", 100_000)
            admin = open_store(server.url, data_dir=Path(tmp) / "data")
            for text, what in FILTERS:
                client.slowlog_reset()
                pinger = Pinger(server.url)
                first, rows = timed(lambda: admin.find_sessions(text, limit=101))
                waits = pinger.finish()
                # (Redis 7 logs the commands a script calls too: the longest is still a whole call)
                logged = [(entry["command"].split()[0], entry["duration"] / 1000)
                          for entry in client.slowlog_get(100_000)]
                longest = max(ms for name, ms in logged if name not in (b"PING", b"SLOWLOG"))
                scripts = sorted(ms for name, ms in logged if name == b"EVALSHA")
                nxt, _ = timed(lambda: admin.find_sessions(text, limit=101, offset=100))
                again, _ = timed(lambda: admin.find_sessions(text, limit=101))
                print(f"{text!r} ({what}): first {first:.0f} ms ({len(rows)} rows), next page {nxt:.1f} ms, "
                      f"same page again {again:.1f} ms; longest Redis command {longest:.1f} ms; "
                      f"{spread(scripts, 'search scripts')}; another client's PING during the find: "
                      f"p50 {waits[len(waits) // 2] * 1000:.2f} ms, max {waits[-1] * 1000:.1f} ms (n={len(waits)})")
            admin.close()
            client.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
