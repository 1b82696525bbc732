"""Why the first F4 from the chat is slower than the next ones: the admin panel is built then.

    .venv/bin/python bench/admin_first_show.py [--runs 8] [--sessions 300]

Each run, in a fresh process (the first F4 also imports the panel's modules), starts the
app headless on a memory store (collection paused, then frozen, as `ragtui` starts it),
waits a second, then presses F4 and Esc three times. For each F4 it
prints the wall time until the panel's table is laid out, the CPU time the UI thread spent
in it (what the machine's load does not change much), and the garbage collections that ran
meanwhile (generation, ms); then the medians over the runs.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textual import events
from textual.widgets import DataTable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ragtui.config import Settings  # noqa: E402
from ragtui.sessions import open_store  # noqa: E402
from ragtui.tui.app import RagTuiApp  # noqa: E402
from tests.tui.fakes import FakeChatService  # noqa: E402

collections: list[tuple[int, float]] = []  # (generation, ms) of the collections since cleared
_started = [0.0]


def _watch_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        collections.append((info["generation"], (time.perf_counter() - _started[0]) * 1000))


async def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        await asyncio.sleep(0.001)


async def one_run(sessions: int) -> list[tuple[float, float, list]]:
    store = open_store("memory")
    for i in range(sessions):
        sid = store.create_session("u", f"question {i}")
        store.add_message(sid, "user", f"question {i}")
    settings = Settings(user="u", ttl=3600, data_dir=Path(tempfile.mkdtemp()), theme="textual-dark")
    gc.disable()  # as cli.main does; the app freezes and re-enables collection after its first frame
    app = RagTuiApp(settings, store, FakeChatService(store))
    shown = []
    async with app.run_test(size=(160, 50)):
        browser = app.query_one("SessionBrowser")
        await wait_until(lambda: browser.sessions and app.screen.answering.model_ready)
        await asyncio.sleep(1.0)
        for _ in range(3):
            collections.clear()
            wall, cpu = time.perf_counter(), time.thread_time()
            app.post_message(events.Key("f4", None))  # as the driver delivers it
            await wait_until(lambda: app.screen is not app.main and app.screen.query(DataTable)
                             and app.screen.query_one(DataTable).size.height > 0)
            shown.append(((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000,
                          [(g, round(ms, 1)) for g, ms in collections if ms >= 0.5]))
            await asyncio.sleep(0.3)
            app.post_message(events.Key("escape", None))
            await wait_until(lambda: app.screen is app.main)
            await asyncio.sleep(0.2)
    return shown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a run: one JSON line
    args = parser.parse_args()
    if args.one:
        gc.callbacks.append(_watch_gc)
        print(json.dumps(asyncio.run(one_run(args.sessions))))
        return
    runs = []
    for n in range(args.runs):
        out = subprocess.run([sys.executable, __file__, "--one", "--sessions", str(args.sessions)],
                             check=True, capture_output=True, text=True).stdout
        shown = json.loads(out.splitlines()[-1])
        runs.append(shown)
        print(f"run {n + 1}: " + " | ".join(f"F4 #{i + 1} {wall:.0f} ms wall, {cpu:.0f} ms UI CPU, gc {found}"
                                          for i, (wall, cpu, found) in enumerate(shown)), flush=True)
    for i in range(3):
        print(f"F4 #{i + 1}: median {statistics.median(r[i][0] for r in runs):.0f} ms wall, "
              f"{statistics.median(r[i][1] for r in runs):.0f} ms UI CPU")


if __name__ == "__main__":
    main()
