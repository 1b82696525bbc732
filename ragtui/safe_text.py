"""Make untrusted text (model output, documents, titles, ids, file names) safe to put on screen.

Textual never parses these strings as markup because the app only hands them over as
`Content`/`Text` objects or to Markdown; what this module removes is what a terminal
would act on — ANSI escape sequences and control characters — and what would make it
show something other than what is there: bidirectional overrides.
"""
from __future__ import annotations

import logging
import re
from typing import Any

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC strings, and
# two-byte escapes. C1 equivalents (0x9b CSI, 0x9d OSC, ...) are handled too.
_ESCAPE_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]               # CSI
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|$)  # OSC / DCS / SOS / PM / APC
    | \x1b [@-Z\\-_]                                    # other two-byte escapes
    """,
    re.VERBOSE | re.DOTALL,
)
# Every C0 control but \t and \n, DEL, the C1 range, and lone surrogates (undecodable
# bytes in a file name or argument: printing them would fail); \r is dropped outright
# because CRLF text is common and a lone \r rewrites the line in a terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Bidirectional embeddings, overrides, isolates and marks: "evil\u202etxt.exe" shows as
# "evilexe.txt". Dropped: text shown in a terminal reads the same without them.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")
# What json.dumps(ensure_ascii=False) leaves raw but a terminal would act on or reorder.
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")
REPLACEMENT = "\ufffd"

# Beyond this many characters a message is shown as plain, truncated text: parsing
# and laying out a megabyte of Markdown would freeze the UI for seconds.
DISPLAY_LIMIT = 20_000


def clean(text: str) -> str:
    """`text` without escape sequences; other control characters become U+FFFD."""
    text = _ESCAPE_SEQUENCE.sub("", text).replace("\r\n", "\n").replace("\r", "")
    return _CONTROL.sub(REPLACEMENT, _BIDI_CONTROL.sub("", text))


def one_line(text: str, width: int | None = None) -> str:
    """A cleaned single line (titles, previews), cut to `width` with an ellipsis."""
    line = " ".join(clean(text).split())
    if width is not None and len(line) > width:
        return line[: max(width - 1, 0)] + "…"
    return line


def for_display(text: str, limit: int = DISPLAY_LIMIT) -> tuple[str, bool]:
    """The part of `text` worth rendering, and whether it was cut."""
    if len(text) <= limit:
        return clean(text), False
    return clean(text[:limit]), True


def json_line(value: Any) -> str:
    """`value` as one line of JSON, exact and safe to print: characters a terminal would act
    on or reorder (C1 controls, bidi controls, line separators) are written as \\u escapes."""
    import json  # only --json output needs it: not imported before the app's first frame

    text = json.dumps(value, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class TerminalFormatter(logging.Formatter):
    """Log lines for a terminal: a file name or id quoted in a warning cannot drive it."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(clean(line) for line in super().format(record).split("\n"))
