"""Input latency while an answer streams, time to open a 1,000-message session, and how
fast a message written by another device shows up (Pilot, headless, real store).

    .venv/bin/python bench/tui_interaction.py [--redis-url redis://...]

Without --redis-url the store is `memory` (same code path, no network).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path

from textual import events

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ragtui.config import Settings  # noqa: E402
from ragtui.sessions import open_store  # noqa: E402
from ragtui.tui.app import RagTuiApp  # noqa: E402
from ragtui.tui.widgets.chat_messages import UserMessage  # noqa: E402
from ragtui.tui.widgets.streaming_answer import StreamingAnswer  # noqa: E402
from tests.tui.fakes import FakeChatService  # noqa: E402


class SteadyStream(FakeChatService):
    """Streams `tokens` pieces at `rate` per second, like a small local model."""

    def __init__(self, store, tokens=400, rate=60.0):
        super().__init__(store, reply=" ".join(f"word{i}" for i in range(tokens)))
        self.rate = rate

    def ask(self, session_id, question, *, on_token=None, should_stop=None, use_history=True):
        def paced(piece):
            threading.Event().wait(1 / self.rate)
            on_token(piece)

        return super().ask(session_id, question, on_token=paced, should_stop=should_stop)


def pct(values, q):
    values = sorted(values)
    return values[min(int(q * len(values)), len(values) - 1)] * 1000


async def wait_until(pilot, predicate, timeout=30.0):
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out")
        await pilot.pause(0)


async def input_latency(settings, store) -> str:
    app = RagTuiApp(settings, store, SteadyStream(store))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.screen.model_ready)
        await pilot.press(*"stream please", "enter")
        await wait_until(pilot, lambda: app.query(StreamingAnswer) and len(app.query_one(StreamingAnswer).text) > 20)
        prompt = app.query_one("PromptInput")
        latencies = []
        for _ in range(60):
            if not app.screen.generating:
                break
            before = len(prompt.text)
            started = time.perf_counter()
            # As the driver delivers a key: queued behind whatever the stream has queued.
            app.post_message(events.Key("x", "x"))
            await wait_until(pilot, lambda: len(prompt.text) > before)
            latencies.append(time.perf_counter() - started)
            await pilot.pause(0.05)  # a fast typist: 20 keys per second
        streamed = app.screen.generating
    return (f"input latency while streaming ({len(latencies)} keys, answer still streaming: {streamed}): "
            f"p50 {pct(latencies, 0.5):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms, max {max(latencies) * 1000:.1f} ms")


async def open_big_session(settings, store) -> str:
    sid = store.create_session(settings.user, title="long chat")
    for i in range(500):
        store.add_message(sid, "user", f"question {i}: how does *this* work?")
        store.add_message(sid, "assistant", f"Answer {i}: it works like **that**, see [1].\n\n- one\n- two")
    app = RagTuiApp(settings, store, FakeChatService(store))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.query_one("SessionBrowser").sessions)
        app.query_one("#session-list").focus()
        await pilot.pause()
        def laid_out() -> bool:  # the compositor placed them: they are in the frame it paints
            shown = app.query("UserMessage, AssistantMessage")
            return len(shown) >= 20 and all(w.region.height > 0 for w in shown)

        started = time.perf_counter()
        app.post_message(events.Key("enter", None))  # as the driver delivers it, no Pilot waits
        while not laid_out():
            await asyncio.sleep(0.002)  # poll without forcing refreshes of our own
            if time.perf_counter() - started > 30:
                raise RuntimeError("the session did not open")
        on_screen = time.perf_counter() - started
        await pilot.pause()  # then until nothing is left to process (focus moves, relayouts)
        settled = time.perf_counter() - started
    store.clear_session(sid)
    return (f"open a 1,000-message session (newest 20 shown, rest on demand): on screen after "
            f"{on_screen * 1000:.0f} ms, app idle again after {settled * 1000:.0f} ms")


async def other_device(settings, store, runs=10) -> str:
    sid = store.create_session(settings.user, title="shared")
    store.add_message(sid, "user", "hello")
    app = RagTuiApp(settings, store, FakeChatService(store))
    delays = []
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.query_one("SessionBrowser").sessions)
        app.query_one("#session-list").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.session_id == sid)
        for i in range(runs):
            text = f"from the other device {i}"
            started = time.perf_counter()
            store.add_message(sid, "user", text)
            await wait_until(pilot, lambda: any(w.text == text for w in app.query(UserMessage)))
            delays.append(time.perf_counter() - started)
    return (f"message from another device shown after ({runs} runs, poll every 0.5 s): "
            f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    settings = Settings(user="bench")
    store = open_store(args.redis_url or "memory", max_messages=2000)
    print(f"store: {store.describe()}")
    print(await input_latency(settings, store))
    print(await open_big_session(settings, store))
    print(await other_device(settings, store))
    store.close()


if __name__ == "__main__":
    asyncio.run(main())
