"""Time to first paint of the real `ragtui` binary, measured in tmux.

From just before tmux starts the process to the first capture of the pane that shows
the header. Includes tmux's own start (a few ms), so it overstates slightly.

    .venv/bin/python bench/tui_startup.py [--runs 7] [--store memory|local]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAGTUI = Path(sys.executable).with_name("ragtui")
# A tmux server of our own: others' tests start and kill sessions on the default one.
TMUX = ["tmux", "-L", f"ragtui-bench-{os.getpid()}"]


def first_paint(store: str, data_dir: str) -> float:
    name = f"ragtui-bench-{os.getpid()}"
    env = ["-e", f"RAGTUI_DATA_DIR={data_dir}", "-e", "HF_HUB_OFFLINE=1", "-e", "TERM=xterm-256color"]
    started = time.perf_counter()
    subprocess.run([*TMUX, "new-session", "-d", "-s", name, "-x", "120", "-y", "34", *env,
                    f"{RAGTUI} --store {store}"], check=True)
    try:
        while True:
            screen = subprocess.run([*TMUX, "capture-pane", "-p", "-t", name],
                                    capture_output=True, text=True).stdout
            if "ragtui" in screen and "Send" in screen:  # header and footer: a whole frame
                return time.perf_counter() - started
            time.sleep(0.005)  # polling must not steal the CPU the app needs to start
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"no frame after 30 s:\n{screen}")
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", name], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store", default="memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        times = [first_paint(args.store, data_dir) for _ in range(args.runs)]
    print(f"first paint, --store {args.store}, {args.runs} runs: "
          f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
