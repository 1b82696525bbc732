"""What key layout v2 costs per chat turn, against layout v1 and the raw floor, in one sitting.

A turn: add the user's message, read the last 10, add the reply (as bench/session_turns.py).
The three play their own session on one redis-server, interleaved in rounds so machine noise
falls on all alike; besides turns/s it reports the client's CPU and Redis's own time per
turn (INFO commandstats), which noise from the rest of the machine barely moves.

    .venv/bin/python bench/layout_cost.py [--turns 2000] [--rounds 10]

v1 is the store as released before layout v2 (tests/sessions/legacy_v1_store.py); both
stores are used directly (no failover wrapper), so the difference is the layout alone; the
last row is v2 as the app opens it (open_store: the failover store and its connection pool).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ragtui.sessions import open_store  # noqa: E402
from ragtui.sessions.store import SessionStore  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.sessions.legacy_v1_store import SessionStore as LayoutV1Store  # noqa: E402

QUESTION = "question {}: how do sessions survive a restart?"
ANSWER = "answer {0}: they live in Redis with a sliding TTL. " * 3


def raw_turn(client: redis.Redis, sid: str, i: int) -> None:
    for role, text in (("user", QUESTION.format(i)), ("assistant", ANSWER.format(i))):
        pipe = client.pipeline(transaction=False)
        pipe.rpush(sid, json.dumps({"role": role, "content": text, "timestamp": time.time()}))
        pipe.expire(sid, 3600)
        pipe.execute()
        if role == "user":
            [json.loads(m) for m in client.lrange(sid, -10, -1)]


def store_turn(store, sid: str, i: int) -> None:
    store.add_message(sid, "user", QUESTION.format(i))
    store.get_last_n_messages(sid, 10)
    store.add_message(sid, "assistant", ANSWER.format(i))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    server = RedisServer(Path(tempfile.mkdtemp())).start()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        v1 = LayoutV1Store(client, backend="redis", max_messages=100_000)
        v2 = SessionStore(client, backend="redis", max_messages=100_000)
        app = open_store(server.url, data_dir=tempfile.mkdtemp(), max_messages=100_000)  # what the app runs
        plays = {
            "raw redis-py": (lambda sid, i: raw_turn(client, sid, i), "raw:bench"),
            "layout v1 store": (lambda sid, i: store_turn(v1, sid, i), v1.create_session("bench")),
            "layout v2 store": (lambda sid, i: store_turn(v2, sid, i), v2.create_session("bench")),
            "v2, as open_store": (lambda sid, i: store_turn(app, sid, i), app.create_session("bench")),
        }
        spent = {name: [0.0, 0.0, 0] for name in plays}  # wall s, client CPU s, server µs
        per_round = args.turns // args.rounds
        for r in range(args.rounds):
            for name, (play, sid) in plays.items():
                client.config_resetstat()
                wall, cpu = time.perf_counter(), time.process_time()
                for i in range(r * per_round, (r + 1) * per_round):
                    play(sid, i)
                spent[name][0] += time.perf_counter() - wall
                spent[name][1] += time.process_time() - cpu
                stats = client.info("commandstats")
                spent[name][2] += sum(v["usec"] for k, v in stats.items() if k != "cmdstat_config")
        turns = per_round * args.rounds
        floor = turns / spent["raw redis-py"][0]
        print(f"{turns:,} turns each, {args.rounds} interleaved rounds, redis-server at {server.url}\n")
        print(f"{'':<18}{'turns/s':>10}{'vs raw':>9}{'client CPU µs/turn':>21}{'Redis µs/turn':>16}")
        for name, (wall, cpu, usec) in spent.items():
            print(f"{name:<18}{turns / wall:>10,.0f}{turns / wall / floor:>8.2f}×{cpu / turns * 1e6:>21.0f}"
                  f"{usec / turns:>16.0f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
