"""The one way times and sizes read (ragtui.formatting)."""
from __future__ import annotations

from ragtui.formatting import format_ago, format_bytes, format_count, format_ttl


def test_ttl_as_a_clock_rounds_part_seconds_up():
    shown = [format_ttl(s) for s in (None, 0, -3, 59.2, 61, 3600, 3723, 100 * 3600)]
    assert shown == ["∞", "00:00", "00:00", "01:00", "01:01", "1:00:00", "1:02:03", "100:00:00"]


def test_ttl_compact_for_list_rows():
    shown = [format_ttl(s, compact=True) for s in (None, 0, 59, 60, 61, 3599, 3600, 3723, 26 * 3600)]
    assert shown == ["∞", "0s", "59s", "1m", "1m", "59m", "1h00", "1h02", "26h00"]


def test_ago():
    shown = [format_ago(s) for s in (-30, 0, 59.9, 60, 3599, 3600, 86399, 86400 * 3)]
    assert shown == ["just now", "just now", "just now", "1m ago", "59m ago", "1h ago", "23h ago", "3d ago"]


def test_bytes():
    shown = [format_bytes(n) for n in (None, 0, 1023, 1024, 1536, 3 * 2**20, 2**30, 5 * 2**40)]
    assert shown == ["—", "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "3.0 MiB", "1.0 GiB", "5120.0 GiB"]


def test_count_says_one_without_an_s():
    assert [format_count(n, "message") for n in (0, 1, 2, 1234)] == ["0 messages", "1 message", "2 messages", "1,234 messages"]
