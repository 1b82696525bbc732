"""The local journal on a disk that fills up (issue 9 case 7), on a real tmpfs (needs root).

Two runs, as the issue reproduced them:
  full  — a 64 kB tmpfs: add messages until the disk refuses; reopen.
  freed — a 256 kB tmpfs that also holds a filler file: fill it, delete the filler
          mid-run, go on; reopen.
Each prints messages acknowledged, shown by the running process, and found after a
reopen; lost = acknowledged but not found; phantom = found but never acknowledged.

    sudo .venv/bin/python bench/disk_full.py [--messages 400]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from ragtui.sessions import StoreError, open_store  # noqa: E402


def mount_tmpfs(size: str) -> Path:
    point = Path(tempfile.mkdtemp(prefix="ragtui-disk-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], check=True)
    return point


def run(size: str, messages: int, filler_bytes: int = 0) -> dict[str, int]:
    point = mount_tmpfs(size)
    try:
        filler = point / "filler"
        if filler_bytes:
            filler.write_bytes(b"\0" * filler_bytes)
        data_dir = point / "data"
        store = open_store("local", data_dir=data_dir)
        store.journal.compact_slack = 1 << 30  # the journal itself fills the disk
        sid = store.create_session("alice")
        acknowledged, refused = set(), 0
        for i in range(messages):
            try:
                store.add_message(sid, "user", f"message {i} " + "x" * 300)
                acknowledged.add(i)
            except (StoreError, OSError):  # OSError: what older versions raised
                refused += 1
                if filler_bytes and filler.exists() and refused == 3:
                    filler.unlink()  # space comes back mid-run
        shown = {int(m.content.split()[1]) for m in store.get_conversation_history(sid)}
        store.close()
        found = {int(m.content.split()[1]) for m in open_store("local", data_dir=data_dir).get_conversation_history(sid)}
        return {"acknowledged": len(acknowledged), "refused": refused, "shown": len(shown),
                "found after reopen": len(found), "lost": len(acknowledged - found),
                "phantom": len(found - acknowledged)}
    finally:
        subprocess.run(["umount", "-l", str(point)], check=True)
        os.rmdir(point)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    args = parser.parse_args()
    for name, result in (("full (64 kB)", run("64k", args.messages)),
                         ("freed (256 kB, 128 kB filler deleted)", run("256k", args.messages, 128 * 1024))):
        print(f"{name:<40} " + "  ".join(f"{k} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
