"""Time to first paint of the real `ragtui` binary, measured in tmux.

From just before tmux starts the process to the first capture of the pane that shows
the header. Includes tmux's own start (a few ms), so it overstates slightly.

    .venv/bin/python bench/tui_startup.py [--runs 7] [--store memory|local]

Also times the floor: the smallest Textual app with a header, a line of text and a
footer, started the same way — what any Textual app pays on this machine.

ragtui's bytecode is compiled first, as Python does on a user's first run and pip does at
install: where PYTHONDONTWRITEBYTECODE is set (as in the sandbox these runs come from),
every start would otherwise compile ragtui's sources again (~20 ms), which no user pays.
"""
from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ragtui

RAGTUI = Path(sys.executable).with_name("ragtui")


FLOOR_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Floor(App):
    TITLE = "ragtui"
    BINDINGS = [("enter", "send", "Send")]

    def compose(self):
        yield Header()
        yield Static("hello")
        yield Footer()

Floor().run()
"""


def first_paint(command: str, data_dir: str) -> float:
    name = f"ragtui-bench-{os.getpid()}"
    # A tmux server of our own for each run: others' tests kill sessions on the default one,
    # and a server still exiting after the previous run's kill refuses a new session.
    tmux = ["tmux", "-L", f"{name}-{time.monotonic_ns()}"]
    env = ["-e", f"RAGTUI_DATA_DIR={data_dir}", "-e", "HF_HUB_OFFLINE=1", "-e", "TERM=xterm-256color"]
    started = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-s", name, "-x", "120", "-y", "34", *env, command], check=True)
    try:
        while True:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", name],
                                    capture_output=True, text=True).stdout
            if "ragtui" in screen and "Send" in screen:  # header and footer: a whole frame
                return time.perf_counter() - started
            time.sleep(0.005)  # polling must not steal the CPU the app needs to start
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"no frame after 30 s:\n{screen}")
    finally:
        subprocess.run([*tmux, "kill-session", "-t", name], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store", default="memory")
    args = parser.parse_args()
    compileall.compile_dir(Path(ragtui.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as data_dir:
        floor_app = Path(data_dir) / "floor_app.py"
        floor_app.write_text(FLOOR_APP)
        commands = {
            f"ragtui --store {args.store}": f"{RAGTUI} --store {args.store}",
            "floor: minimal Textual app": f"{sys.executable} {floor_app}",
        }
        times = {label: [] for label in commands}
        for _ in range(args.runs):  # alternate, so that noise falls on both alike
            for label, command in commands.items():
                times[label].append(first_paint(command, data_dir))
    for label, got in times.items():
        print(f"first paint, {label}, {args.runs} runs: median {statistics.median(got) * 1000:.0f} ms, "
              f"min {min(got) * 1000:.0f} ms, max {max(got) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
