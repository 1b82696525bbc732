"""How times and sizes read, the same in the app, the admin panel and the commands."""
from __future__ import annotations

import math


def format_ttl(seconds: float | None, *, compact: bool = False) -> str:
    """Time left: `∞` (never expires), `59:07`, `1:02:03`; compact (list rows, refreshed
    every few seconds): `30s`, `5m`, `1h05`. A part second counts as a second."""
    if seconds is None:
        return "∞"
    whole = max(math.ceil(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if compact:
        return f"{hours}h{minutes:02d}" if hours else f"{minutes}m" if minutes else f"{secs}s"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_ago(seconds: float) -> str:
    """How long ago: `just now`, `5m ago`, `3h ago`, `2d ago` (a clock ahead counts as now)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def format_bytes(n: int | None) -> str:
    """`—` (unknown), `512 B`, `1.5 KiB`, `3.2 MiB`, `1.0 GiB`."""
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def format_count(n: int, noun: str) -> str:
    """`1 message`, `2 messages`, `1,234 users` (nouns that take an s)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
