"""How long session calls take while Redis is paused (SIGSTOP): a gray failure.

    .venv/bin/python bench/paused_redis.py [--pauses 3] [--calls 30] [--cluster]

Starts its own redis-server (--cluster: a local 3-master Redis Cluster, and pauses the
master that holds the session); per pause: the first add (it meets the `redis_timeout`
deadline, 1 s by default), then adds and reads at chat pace (one pair every 0.1 s) while a
background probe waits for Redis; then SIGCONT and the time until the pending messages
are replayed. Ends with a count of stored messages: none lost, none twice.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ragtui.sessions import open_store  # noqa: E402
from ragtui.sessions.keys import Keys  # noqa: E402
from tests.redis_server import RedisClusterServers, RedisServer  # noqa: E402


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pauses", type=int, default=3)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--cluster", action="store_true", help="a local 3-master Redis Cluster")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ragtui-paused-"))
    servers = RedisClusterServers(tmp / "cluster", replicas=0) if args.cluster else RedisServer(tmp / "redis")
    servers.start()
    store = open_store(servers.url, data_dir=tmp / "data")
    sid = store.create_session("alice")
    server = servers.master_for(Keys().meta("alice", sid)) if args.cluster else servers
    store.add_message(sid, "user", "before")
    expected = 1
    try:
        for n in range(args.pauses):
            os.kill(server.process.pid, signal.SIGSTOP)
            first = timed(lambda: store.add_message(sid, "user", f"pause {n} first"))
            later = []
            for i in range(args.calls):
                later.append(timed(lambda: store.add_message(sid, "user", f"pause {n} m{i}")))
                later.append(timed(lambda: store.get_last_n_messages(sid, 10)))
                time.sleep(0.1)
            os.kill(server.process.pid, signal.SIGCONT)
            started = time.perf_counter()
            replayed = store.wait_synced(30)
            expected += 1 + args.calls
            print(f"pause {n}: first add {first:.0f} ms; next {len(later)} calls p50 "
                  f"{statistics.median(later):.1f} ms, max {max(later):.1f} ms; "
                  f"replayed {'in' if replayed else 'NOT within'} {time.perf_counter() - started:.2f} s after SIGCONT")
        contents = [m.content for m in store.get_conversation_history(sid)]
        print(f"stored {len(contents)} of {expected}, {len(contents) - len(set(contents))} twice")
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        store.close()
        servers.stop()


if __name__ == "__main__":
    main()
