"""The stats pane: the store as an operator sees it, the model and the index."""
from __future__ import annotations

from collections import deque
from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Sparkline, Static

from ...formatting import format_bytes, format_count
from ...safe_text import one_line
from ...sessions.redis_checks import pane_warnings

SPARK_POINTS = 60


def worst_latency(latency_ms: dict[str, dict[str, float]]) -> tuple[float, float] | None:
    """(p50, p99) of the slowest operation: what a user would feel at worst."""
    if not latency_ms:
        return None
    return (
        max(v.get("p50", 0.0) for v in latency_ms.values()),
        max(v.get("p99", 0.0) for v in latency_ms.values()),
    )


def rows(title: str, pairs: list[tuple[str, str]]) -> Content:
    lines: list[Content] = [Content.styled(title, "bold $accent")]
    for label, value in pairs:
        lines.append(Content.assemble((f"{label:<10}", "dim"), one_line(value, 60)))
    return Content("\n").join(lines)


class StatsPane(VerticalScroll):
    """Displays what it is given; the screen fetches it in workers.

    Its sections are mounted with the first thing to show (once the store opens): the
    first frame does without them, ~9 ms sooner.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._p99_history: deque[float] = deque(maxlen=SPARK_POINTS)
        self._store_stats: Any = None

    def _section(self, name: str) -> Static:
        if not self.children:
            self.mount_all(
                [
                    Static(rows("Store", [("backend", "connecting…")]), id="stats-store"),
                    Static(rows("Latency", [("p50/p99", "—")]), id="stats-latency"),
                    Sparkline([], id="stats-spark"),
                    Static(rows("Model", [("status", "not loaded")]), id="stats-model"),
                    Static(rows("Index", [("documents", "—")]), id="stats-index"),
                ]
            )
        return self.query_one(f"#stats-{name}", Static)

    def show_store(self, stats: Any, *, unreachable: bool = False) -> None:
        """`unreachable`: the server did not answer, so its counts are unknown (what the
        store can count meanwhile is only what this process has seen)."""
        self._store_stats = stats
        self._show_counts(stats, unreachable)
        worst = worst_latency(stats.latency_ms)
        if worst is None:
            self._section("latency").update(rows("Latency", [("p50/p99", "no calls yet")]))
            return
        p50, p99 = worst
        calls = sum(int(v.get("n", 0)) for v in stats.latency_ms.values())
        self._section("latency").update(
            rows("Latency", [("p50/p99", f"{p50:.1f} / {p99:.1f} ms"), ("calls", f"{calls:,}")])
        )
        self._p99_history.append(p99)
        self.query_one(Sparkline).data = list(self._p99_history)

    def mark_unreachable(self) -> None:
        """The server stopped answering: the counts shown are no longer known."""
        if self._store_stats is not None:
            self._show_counts(self._store_stats, unreachable=True)

    def _show_counts(self, stats: Any, unreachable: bool) -> None:
        health = "unreachable" if unreachable and stats.health == "ok" else stats.health  # "ok": stats from before
        pairs = [("backend", stats.backend), ("health", health)]
        if stats.location:
            pairs.append(("where", stats.location))
        server = stats.server or {}
        if unreachable:
            pairs += [("sessions", "? (Redis unreachable)"), ("messages", "?")]
        else:
            if "redis_version" in server:
                pairs.append(("server", f"Redis {server['redis_version']}"))
            if "connected_clients" in server:
                pairs.append(("clients", str(server["connected_clients"])))
            pairs += [
                ("memory", format_bytes(stats.memory_bytes)),
                *pane_warnings(stats),
                ("sessions", f"{stats.sessions:,}"),
                ("messages", f"{stats.messages:,}"),
            ]
        if server.get("pending_sessions"):
            pairs.append(("pending", format_count(server["pending_sessions"], "session")))
        self._section("store").update(rows("Store", pairs))

    def show_model_status(self, status: str) -> None:
        self._section("model").update(rows("Model", [("status", status)]))

    def show_model(self, model_info: dict, last_answer: Any | None = None) -> None:
        pairs = [
            ("model", str(model_info.get("name", "?"))),
            ("context", f"{model_info.get('n_ctx', '?')} tokens"),
            ("threads", str(model_info.get("threads", "?"))),
        ]
        if last_answer is not None:
            pairs += [
                ("speed", f"{last_answer.tokens_per_s:.1f} tok/s"),
                ("tokens", f"{last_answer.prompt_tokens} in, {last_answer.completion_tokens} out"),
                ("first tok", f"{last_answer.ttft_ms:.0f} ms"),
                ("retrieval", f"{last_answer.retrieval_ms:.0f} ms"),
            ]
        self._section("model").update(rows("Model", pairs))

    def show_index(self, index_info: dict) -> None:
        self._section("index").update(
            rows(
                "Index",
                [
                    ("documents", f"{index_info.get('documents', '?')}"),
                    ("chunks", f"{index_info.get('chunks', '?')}"),
                ],
            )
        )
