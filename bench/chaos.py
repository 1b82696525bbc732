"""Chaos soak: two writers and a reader in `auto` mode while Redis is killed, paused,
restarted, runs out of memory, and the outbox's disk fills up.

    flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/chaos.py --minutes 10

Starts its own redis-server (appendonly yes, appendfsync always) on a free loopback port
with its own directory, and mounts a small tmpfs for the shared data dir (root only;
otherwise the disk-full fault is skipped and says so). Each writer is a separate process
that opens the store as the app does (`open_store("auto", redis_url=…, data_dir=…)`), adds
"w<N>:<seq>" messages to its own sessions (a new session every so often, so some are
created during outages) and records which calls were acknowledged and which raised; an add
that raised is tried again with the same text, as a user resends a question. The
reader lists, reads histories, asks TTLs and stats, and checks that what it is shown is
never duplicated or out of order. At the end the bench heals everything, lets the writers
drain their outbox, and compares what Redis holds with what was acknowledged.
Everything stays on 127.0.0.1, every loop is bounded, and the run stops by itself.
"""
from __future__ import annotations

import argparse
import faulthandler
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from ragtui.sessions import StoreError, open_store  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

MAX_MESSAGES = 1_000_000  # nothing trimmed: every acknowledged message must be countable
MESSAGES_PER_SESSION = 400  # then a writer starts a new session
TMPFS_SIZE = "8m"
DRAIN_SECONDS = 120
SLOW_WRITE = 1.2  # a write still running after this long has the writer's stacks dumped into its log
CONTENT = re.compile(r"^w(\d+):(\d+)$")


def _open(url: str, data_dir: str):
    return open_store("auto", redis_url=url, data_dir=data_dir, max_messages=MAX_MESSAGES)


def _stop_event() -> threading.Event:
    """Set when the parent writes a line (or closes) our stdin."""
    stop = threading.Event()

    def wait() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait, daemon=True).start()
    return stop


def _drain(store) -> bool:
    """Replay what is pending, bounded: the bench has healed Redis and the disk by now."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        try:
            if store.sync():
                return True
        except StoreError:
            pass
        time.sleep(0.2)
    return False


# --------------------------------------------------------------------------- writer
def writer(n: int, url: str, data_dir: str, out: str, pace: float) -> None:
    store = _open(url, data_dir)
    stop = _stop_event()
    user = f"chaos-w{n}"
    acked: dict[str, list[int]] = {}  # session -> seqs acknowledged, in order
    refused: dict[str, list[int]] = {}  # session -> seqs whose every attempt raised
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    slowest: Counter[str] = Counter()  # kind of call -> its slowest, in seconds
    sid, written, seq, retried = None, 0, 0, 0
    failed = False  # the last add of `seq` raised: it is tried again, as a user resends a question

    def add() -> None:
        nonlocal seq, written, failed, retried
        store.add_message(sid, "user", f"w{n}:{seq}")
        acked[sid].append(seq)
        retried += failed
        seq, written, failed = seq + 1, written + 1, False

    print("ready", flush=True)
    while not stop.is_set():
        start = time.perf_counter()
        creating = sid is None or written >= MESSAGES_PER_SESSION
        kind = "create" if creating else "add (resent)" if failed else "add"
        faulthandler.dump_traceback_later(SLOW_WRITE)  # where a slow write waits
        try:
            if creating:
                sid, written = store.create_session(user, f"chaos writer {n}"), 0
                acked[sid], refused[sid] = [], []
            else:
                add()
        except Exception as exc:  # noqa: BLE001 — told, so not acknowledged
            # a StoreError is an answer; any other error is a bug: counted, and the bench goes on
            errors[type(exc).__name__ if isinstance(exc, StoreError)
                   else f"unexpected {type(exc).__name__}: {exc}"[:120]] += 1
            if creating:
                sid = None  # the session was not created: a new one next time
            else:
                failed = True
        faulthandler.cancel_dump_traceback_later()
        took = time.perf_counter() - start
        latencies.append(took)
        slowest[kind] = max(slowest[kind], took)
        time.sleep(pace)
    if failed:  # one last try, Redis healed: else it counts as refused
        try:
            add()
        except Exception:  # noqa: BLE001
            refused[sid].append(seq)
    drained = _drain(store)
    store.close()
    Path(out).write_text(json.dumps({"acked": acked, "refused": refused, "errors": errors, "retried": retried,
                                     "slowest": slowest,
                                     "latencies": latencies, "drained": drained, "user": user}))


# --------------------------------------------------------------------------- reader
def reader(url: str, data_dir: str, out: str, writers: int, pace: float) -> None:
    """The app's read paths: listings, history, TTL, stats, search."""
    store = _open(url, data_dir)
    stop = _stop_event()
    latencies: list[float] = []
    calls: Counter[str] = Counter()
    anomalies: Counter[str] = Counter()
    rng = random.Random(0)
    print("ready", flush=True)

    def timed(name, call):
        start = time.perf_counter()
        try:
            return call()
        except StoreError as exc:
            calls[f"{name}: {type(exc).__name__}"] += 1
            return None
        except Exception as exc:  # noqa: BLE001
            anomalies[f"{name} raised {type(exc).__name__}: {exc}"[:120]] += 1
            return None
        finally:
            latencies.append(time.perf_counter() - start)
            calls[name] += 1

    while not stop.is_set():
        user = f"chaos-w{rng.randrange(writers)}"
        sessions = timed("list", lambda: store.get_all_active_sessions(user, limit=20)) or []
        if sessions:
            sid = rng.choice(sessions).id
            shown = timed("history", lambda: store.get_last_n_messages(sid, 50)) or []
            seqs = [int(m.group(2)) for m in (CONTENT.match(x.content) for x in shown) if m]
            if len(set(seqs)) != len(seqs):
                anomalies["a read showed a message twice"] += 1
            if seqs != sorted(seqs):
                anomalies["a read showed messages out of order"] += 1
            timed("ttl", lambda: store.ttl(sid))
        if calls["list"] % 10 == 0:
            timed("stats", store.get_session_stats)
            timed("search", lambda: store.search_sessions(user, "writer", limit=5))
        time.sleep(pace)
    store.close()
    Path(out).write_text(json.dumps({"latencies": latencies, "calls": calls, "anomalies": anomalies}))


# ---------------------------------------------------------------------------- chaos
class Disk:
    """The shared data dir on a small tmpfs, which the chaos loop can fill."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"
        path.mkdir(parents=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(path)],
                                capture_output=True, text=True)
        self.mounted = result.returncode == 0
        self.why_not = (result.stderr.strip() or "mount failed") if not self.mounted else ""

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 16, 4096, 256, 1):  # big blocks, then the last crumbs
                for _ in range(10_000):  # bounded: far more than the tmpfs holds
                    try:
                        if os.write(fd, b"\0" * size) < size:
                            break
                    except OSError:
                        break
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


class Chaos:
    def __init__(self, server: RedisServer, disk: Disk, rng: random.Random) -> None:
        self.server, self.disk, self.rng = server, disk, rng
        self.counts: Counter[str] = Counter()
        self.kinds = ["sigkill", "sigstop", "restart", "oom"] + (["disk full"] if disk.mounted else [])

    def hold(self, low: float, high: float) -> None:
        time.sleep(self.rng.uniform(low, high))

    def one(self) -> None:
        kind = self.rng.choice(self.kinds)
        self.counts[kind] += 1
        getattr(self, kind.replace(" ", "_"))()

    def sigkill(self) -> None:
        self.server.kill()
        self.hold(0.5, 4)
        self.server.start()

    def sigstop(self) -> None:
        pid = self.server.process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            self.hold(2, 10)
        finally:
            os.kill(pid, signal.SIGCONT)

    def restart(self) -> None:
        self.server.stop()  # SIGTERM: Redis shuts down cleanly
        self.server.start()

    def oom(self) -> None:
        client = redis.Redis.from_url(self.server.url)
        try:
            client.config_set("maxmemory-policy", "noeviction")
            client.config_set("maxmemory", 1)  # every write is refused with OOM
            self.hold(2, 6)
        finally:
            client.config_set("maxmemory", 0)
            client.close()

    def disk_full(self) -> None:
        """The outbox cannot grow while Redis is down: writes must be refused, not half-kept."""
        self.disk.fill()
        self.server.kill()
        try:
            self.hold(2, 5)
        finally:
            self.server.start()
            self.hold(0.5, 2)  # Redis back, disk still full: replay must cope
            self.disk.free()

    def heal(self) -> None:
        if self.server.process.poll() is None:
            os.kill(self.server.process.pid, signal.SIGCONT)
        else:
            self.server.start()
        self.disk.free()


# ------------------------------------------------------------------------------ main
def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    """A writer or the reader; its warnings (every outage logs some) go to `log`."""
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT)
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError(f"{args[1]} did not start: {log.read_text()[-2000:]}")
    return process


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def _verify(url: str, results: list[dict], scratch: str) -> dict[str, int]:
    """What Redis holds against what each writer was told."""
    totals = Counter()
    store = open_store(url, data_dir=scratch, max_messages=MAX_MESSAGES)
    try:
        for n, result in enumerate(results):
            for sid, acked in result["acked"].items():
                stored = []
                for message in store.get_conversation_history(sid):
                    match = CONTENT.match(message.content)
                    if match and int(match.group(1)) == n:
                        stored.append(int(match.group(2)))
                counts = Counter(stored)
                totals["acknowledged"] += len(acked)
                totals["stored"] += len(stored)
                totals["lost"] += len(set(acked) - counts.keys())
                totals["duplicated"] += sum(c - 1 for c in counts.values())
                totals["out of order"] += sum(1 for a, b in zip(stored, stored[1:]) if b <= a)
                refused = set(result["refused"].get(sid, ()))
                totals["refused for good"] += len(refused)
                totals["refused but stored"] += len(refused & counts.keys())
                totals["stored, never sent"] += len(counts.keys() - set(acked) - refused)
    finally:
        store.close()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--pace-ms", type=float, default=5, help="pause between a writer's calls")
    parser.add_argument("--role", choices=["writer", "reader"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "writer":
        return writer(args.n, args.url, args.data_dir, args.out, args.pace_ms / 1000)
    if args.role == "reader":
        return reader(args.url, args.data_dir, args.out, 2, 0.02)

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="ragtui-chaos-"))
    server = RedisServer(workdir / "redis", appendonly=True).start()
    disk = Disk(workdir / "data")
    processes: list[subprocess.Popen] = []
    try:
        info = redis.Redis.from_url(server.url).info("server")
        print(f"redis-server {info['redis_version']} at {server.url} (appendonly, fsync always); "
              f"{os.cpu_count()} cores; seed {seed}; {args.minutes:g} min")
        print(f"data dir: {'tmpfs ' + TMPFS_SIZE if disk.mounted else 'no tmpfs (' + disk.why_not + '): disk full skipped'}")
        common = ["--url", server.url, "--data-dir", str(disk.path)]
        for n in range(2):
            processes.append(_spawn(["--role", "writer", "--n", str(n), "--out", str(workdir / f"w{n}.json"),
                                     "--pace-ms", str(args.pace_ms), *common], workdir / f"w{n}.log"))
        processes.append(_spawn(["--role", "reader", "--out", str(workdir / "reader.json"), *common],
                                workdir / "reader.log"))

        chaos = Chaos(server, disk, rng)
        end = time.monotonic() + args.minutes * 60
        while time.monotonic() < end:
            chaos.hold(1, 4)  # calm: the outbox drains
            if time.monotonic() < end:
                chaos.one()
        chaos.heal()
        for process in processes:
            process.stdin.write("stop\n")
            process.stdin.flush()
        for process in processes:
            process.wait(timeout=DRAIN_SECONDS + 60)
        results = [json.loads((workdir / f"w{n}.json").read_text()) for n in range(2)]
        read = json.loads((workdir / "reader.json").read_text())
        totals = _verify(server.url, results, str(workdir / "verify"))
        _report(results, read, totals, chaos.counts)
        _report_slow_writes([workdir / f"w{n}.log" for n in range(2)])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        if server.process and server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()
        disk.unmount()
        shutil.rmtree(workdir, ignore_errors=True)


def _report(results: list[dict], read: dict, totals: Counter, faults: Counter) -> None:
    writes = [x for r in results for x in r["latencies"]]
    reads = read["latencies"]
    every = writes + reads
    print(f"faults: {sum(faults.values())} — " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())))
    print(f"sessions: {sum(len(r['acked']) for r in results)}; outbox drained: "
          f"{' / '.join('yes' if r['drained'] else 'NO' for r in results)}")
    for key in ("acknowledged", "stored", "lost", "duplicated", "out of order", "refused for good",
                "refused but stored", "stored, never sent"):
        print(f"{key:<22}{totals[key]:>10,}")
    print(f"calls: {len(writes):,} writes, {len(reads):,} reads; slowest {max(every) * 1000:,.0f} ms; "
          f"p99 {_percentile(every, 0.99) * 1000:.1f} ms; p50 {_percentile(every, 0.5) * 1000:.2f} ms")
    print(f"slowest write {max(writes) * 1000:,.0f} ms (p99 {_percentile(writes, 0.99) * 1000:.1f}); "
          f"slowest read {max(reads) * 1000:,.0f} ms (p99 {_percentile(reads, 0.99) * 1000:.1f})")
    slowest = Counter()
    for r in results:
        slowest |= Counter(r["slowest"])  # the larger of the two writers' for each kind
    print("slowest write by kind: " + ", ".join(f"{k} {v * 1000:,.0f} ms" for k, v in sorted(slowest.items())))
    errors = Counter()
    for r in results:
        errors.update(r["errors"])
    print("writes refused: " + (", ".join(f"{k} {v}" for k, v in errors.most_common()) or "none"))
    print(f"adds acknowledged on a retry of the same text after raising: {sum(r['retried'] for r in results):,}")
    print("reads: " + ", ".join(f"{k} {v}" for k, v in sorted(read["calls"].items())))
    print("read anomalies: " + (", ".join(f"{k} {v}" for k, v in read["anomalies"].items()) or "none"))


def _report_slow_writes(logs: list[Path]) -> None:
    """Where writes over SLOW_WRITE were waiting: the innermost frame of the writer's own
    thread in each stack dump (and the innermost of the store's), counted."""
    where: Counter[str] = Counter()
    for log in logs:
        for dump in log.read_text(errors="replace").split("Timeout (")[1:]:
            for thread in dump.split("\n\n"):
                if "in writer" in thread:
                    frames = [line.strip() for line in thread.splitlines() if line.strip().startswith("File")]
                    ours = [f for f in frames if "/ragtui/" in f and "connection.py" not in f]
                    where[" ← ".join(dict.fromkeys(frames[:1] + ours[:1])) or "?"] += 1
    print(f"writes over {SLOW_WRITE:g} s: {sum(where.values())}" + "".join(
        f"\n  {n} waiting at {frame}" for frame, n in where.most_common(5)))


if __name__ == "__main__":
    main()
