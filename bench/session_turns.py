"""Chat turns per second against one redis-server: ragtui vs the floor and the tools people use.

A turn: add the user's message, read the last 10 messages, add the reply.

    .venv-bench/bin/python bench/session_turns.py            # starts its own redis-server
    .venv-bench/bin/python bench/session_turns.py --cluster  # a local 3-master Redis Cluster
    .venv-bench/bin/python bench/session_turns.py --cluster --replicas 1   # … ragtui WAITs

Prints turns/s for 200- and 2,000-turn sessions, then 4 processes writing one session
and how many messages each design lost. On a cluster the floor is redis-py's RedisCluster
with the same pipelines.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.redis_server import RedisClusterServers, RedisServer  # noqa: E402

TTL = 3600


def _msg(role: str, text: str) -> str:
    return json.dumps({"role": role, "content": text, "timestamp": time.time()})


class Raw:
    """The floor: redis-py, one pipeline RPUSH+EXPIRE per write, LRANGE for the read."""

    name = "raw redis-py"

    def __init__(self, url):
        self.r = redis.Redis.from_url(url, decode_responses=True)

    def new_session(self):
        return f"raw:{uuid.uuid4().hex}"

    def add(self, sid, role, text):
        pipe = self.r.pipeline(transaction=False)
        pipe.rpush(sid, _msg(role, text))
        pipe.expire(sid, TTL)
        pipe.execute()

    def last(self, sid, n):
        return [json.loads(m) for m in self.r.lrange(sid, -n, -1)]

    def count(self, sid):
        return self.r.llen(sid)


class RawCluster(Raw):
    """The floor on a cluster: RedisCluster, the same pipeline (one key, so one node)."""

    name = "raw redis-py (RedisCluster)"

    def __init__(self, url):
        from redis.cluster import RedisCluster

        host, port = url.split("://", 1)[1].split(",")[0].rsplit(":", 1)
        self.r = RedisCluster(host=host, port=int(port), decode_responses=True)

    def new_session(self):
        return f"raw:{{{uuid.uuid4().hex}}}"


class Ragtui:
    name = "ragtui"

    def __init__(self, url):
        from ragtui.sessions import open_store

        self.store = open_store(url, data_dir=tempfile.mkdtemp(), ttl=TTL, max_messages=100_000)

    def new_session(self):
        return self.store.create_session("bench")

    def add(self, sid, role, text):
        self.store.add_message(sid, role, text)

    def last(self, sid, n):
        return self.store.get_last_n_messages(sid, n)

    def count(self, sid):
        return self.store.get_session(sid).message_count


class Seed:
    """The seed's design: one hash per session, its `messages` field a JSON list rewritten per message."""

    name = "seed design"

    def __init__(self, url):
        self.r = redis.Redis.from_url(url, decode_responses=True)

    def new_session(self):
        sid = f"seed:{uuid.uuid4().hex}"
        self.r.hset(sid, mapping={"user_id": "bench", "messages": "[]"})
        return sid

    def add(self, sid, role, text):
        history = json.loads(self.r.hget(sid, "messages") or "[]")
        history.append(json.loads(_msg(role, text)))
        self.r.hset(sid, "messages", json.dumps(history))
        self.r.expire(sid, TTL)

    def last(self, sid, n):
        return json.loads(self.r.hget(sid, "messages") or "[]")[-n:]

    def count(self, sid):
        return len(json.loads(self.r.hget(sid, "messages") or "[]"))


class LangChain:
    name = "LangChain RedisChatMessageHistory"

    def __init__(self, url):
        self.url = url

    def new_session(self):
        from langchain_community.chat_message_histories import RedisChatMessageHistory

        self.history = RedisChatMessageHistory(session_id=uuid.uuid4().hex, url=self.url, ttl=TTL)
        return self.history.session_id

    def _history(self, sid):
        from langchain_community.chat_message_histories import RedisChatMessageHistory

        if getattr(self, "history", None) is None or self.history.session_id != sid:
            self.history = RedisChatMessageHistory(session_id=sid, url=self.url, ttl=TTL)
        return self.history

    def add(self, sid, role, text):
        h = self._history(sid)
        (h.add_user_message if role == "user" else h.add_ai_message)(text)

    def last(self, sid, n):
        return self._history(sid).messages[-n:]

    def count(self, sid):
        return len(self._history(sid).messages)


class LlamaIndex:
    name = "LlamaIndex RedisChatStore"

    def __init__(self, url):
        from llama_index.storage.chat_store.redis import RedisChatStore

        self.store = RedisChatStore(redis_url=url, ttl=TTL)

    def new_session(self):
        return f"li:{uuid.uuid4().hex}"

    def add(self, sid, role, text):
        from llama_index.core.llms import ChatMessage

        self.store.add_message(sid, ChatMessage(role=role, content=text))

    def last(self, sid, n):
        return self.store.get_messages(sid)[-n:]

    def count(self, sid):
        return len(self.store.get_messages(sid))


DESIGNS = [Raw, Ragtui, LlamaIndex, LangChain, Seed]
CLUSTER_DESIGNS = [RawCluster, Ragtui]  # the others take one server's URL only


def run_turns(design, sid, first: int, count: int) -> float:
    started = time.perf_counter()
    for i in range(first, first + count):
        design.add(sid, "user", f"question {i}: how do sessions survive a restart?")
        design.last(sid, 10)
        design.add(sid, "assistant", f"answer {i}: they live in Redis with a sliding TTL. " * 3)
    return time.perf_counter() - started


def turns_per_second(designs: list, turns: int, rounds_of: int = 50) -> list[float]:
    """Each design plays its own session of `turns`, interleaved in rounds so that noise
    from the rest of the machine falls on all of them alike."""
    sids = [d.new_session() for d in designs]
    spent = [0.0] * len(designs)
    for first in range(0, turns, rounds_of):
        for k, design in enumerate(designs):
            spent[k] += run_turns(design, sids[k], first, min(rounds_of, turns - first))
    return [turns / s for s in spent]


def _concurrent_writer(cls, url, sid, writer, count, start):
    design = cls(url)
    start.wait()
    for i in range(count):
        design.add(sid, "user", f"{writer}:{i}")


def lost_with_concurrent_writers(cls, url, writers=4, count=250) -> int:
    design = cls(url)
    sid = design.new_session()
    start = multiprocessing.get_context("fork").Event()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_concurrent_writer, args=(cls, url, sid, w, count, start)) for w in range(writers)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join()
    return writers * count - design.count(sid)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--redis-url", help="use this server instead of starting one")
    parser.add_argument("--designs", nargs="+", choices=[cls.__name__.lower() for cls in DESIGNS],
                        help="only these (raw is always run first: the ratios are to it)")
    parser.add_argument("--cluster", action="store_true", help="start a local 3-master Redis Cluster")
    parser.add_argument("--replicas", type=int, default=0, help="replicas per cluster master (ragtui then WAITs)")
    args = parser.parse_args()
    chosen = [cls for cls in DESIGNS if cls is Raw or not args.designs or cls.__name__.lower() in args.designs]
    server = None
    url = args.redis_url
    if args.cluster:
        chosen = CLUSTER_DESIGNS
        server = RedisClusterServers(Path(tempfile.mkdtemp()), replicas=args.replicas).start()
        url = server.url
    elif url is None:
        server = RedisServer(Path(tempfile.mkdtemp())).start()
        url = server.url
    try:
        node = server.nodes[0].url if args.cluster else url
        info = redis.Redis.from_url(node).info("server")
        shape = f"a cluster of 3 masters, {args.replicas} replica(s) each, " if args.cluster else ""
        print(f"redis-server {info['redis_version']} at {url}; {shape}{os.cpu_count()} cores\n")
        designs = [cls(url) for cls in chosen]
        by_length = [turns_per_second(designs, t) for t in args.turns]
        print(f"{'turns/s':<36}" + "".join(f"{f'{t} turns':>14}" for t in args.turns) + f"{'vs raw':>18}")
        for k, cls in enumerate(chosen):
            figures = [column[k] for column in by_length]
            ratios = " / ".join(f"{column[k] / column[0]:.2f}×" for column in by_length)
            print(f"{cls.name:<36}" + "".join(f"{f:>14,.0f}" for f in figures) + f"{ratios:>18}", flush=True)
        print("\n4 processes × 250 messages into one session:")
        for cls in chosen:
            lost = lost_with_concurrent_writers(cls, url)
            print(f"{cls.name:<36}{lost:>6} lost ({lost / 1000:.0%})", flush=True)
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
