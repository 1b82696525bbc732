"""The app in a real terminal: native libraries' stderr (llama.cpp, lance) kept from
scribbling over it, and pastes read whole."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from textual._xterm_parser import BRACKETED_PASTE_END, BRACKETED_PASTE_START, XTermParser
from textual.message import Message

from ..safe_text import clean


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


class PasteSafeParser(XTermParser):
    """Textual's terminal parser, except that a bracketed paste stays one paste.

    Textual 8.2 reads an escape sequence inside a paste as key presses: a pasted
    `ESC[31mRED` typed "^[31mRED", and the pasted line break after it sent the message.
    Here what lies between the paste's brackets loses its escape sequences before Textual
    parses it, and its line breaks (terminals send \\r) become \\n.
    """

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self._in_paste = False
        self._held = ""  # the end of the last read, when it may be the start of a bracket

    def feed(self, data: str) -> Iterable[Message]:
        if not data:  # the end of input: what was held goes first
            held, self._held = self._held, ""
            return [*super().feed(self._clean_pastes(held)), *super().feed("")] if held else super().feed("")
        data, self._held = self._hold_back(self._held + data)
        return super().feed(self._clean_pastes(data)) if data else []

    def _hold_back(self, data: str) -> tuple[str, str]:
        """Split off a tail that may be the start of a bracket cut by the read."""
        bracket = BRACKETED_PASTE_END if self._in_paste else BRACKETED_PASTE_START
        for size in range(len(bracket) - 1, 1, -1):  # never a lone ESC: that is the Escape key
            if data.endswith(bracket[:size]):
                return data[:-size], data[-size:]
        return data, ""

    def _clean_pastes(self, data: str) -> str:
        out, pos = [], 0
        while pos < len(data):
            bracket = BRACKETED_PASTE_END if self._in_paste else BRACKETED_PASTE_START
            found = data.find(bracket, pos)
            text = data[pos:] if found < 0 else data[pos:found]
            out.append(paste_text(text) if self._in_paste else text)
            if found < 0:
                break
            out.append(bracket)
            self._in_paste, pos = not self._in_paste, found + len(bracket)
        return "".join(out)


def paste_text(text: str) -> str:
    """Pasted text as it should land in the question box: lines kept, escapes gone."""
    return clean(text.replace("\r\n", "\n").replace("\r", "\n"))


def use_paste_safe_parser() -> None:
    """Make Textual's Linux driver parse input with `PasteSafeParser` (this process only)."""
    from textual.drivers import linux_driver

    linux_driver.XTermParser = PasteSafeParser  # type: ignore[misc]
