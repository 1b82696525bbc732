"""What the failover tests report: acknowledged messages against what Redis holds after."""
from __future__ import annotations

from collections import Counter


def acked_vs_stored(what: str, acked: list[str], stored: list[str]) -> tuple[int, int]:
    """(lost, duplicated) message ids; printed, so a run shows the figures."""
    held = Counter(stored)
    lost = sum(1 for mid in acked if mid not in held)
    duplicated = sum(n - 1 for n in held.values() if n > 1)
    print(f"{what}: {len(acked)} acknowledged, {len(stored)} stored, {lost} lost, {duplicated} duplicated")
    return lost, duplicated
