"""Keep native libraries' stderr (llama.cpp, lance) from scribbling over the app."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def stray_output_to(log_path: Path) -> Iterator[None]:
    """Point fd 2 at `log_path` while the app draws through a duplicate of the terminal.

    Textual's driver writes to `sys.__stderr__`, taken when the app starts running, so
    that becomes the duplicate; C and Rust code writing to fd 2 lands in the log.
    """
    sys.stderr.flush()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    terminal_fd = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    original = sys.__stderr__
    terminal = os.fdopen(terminal_fd, "w", encoding="utf-8", errors="replace")
    sys.__stderr__ = terminal  # type: ignore[misc]  # Final in typeshed; Textual writes to it
    try:
        yield
    finally:
        terminal.flush()
        os.dup2(terminal_fd, 2)
        sys.__stderr__ = original  # type: ignore[misc]
        terminal.close()
