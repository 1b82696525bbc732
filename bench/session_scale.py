"""Sessions at scale: 200,000 sessions (20 users × 10,000) in one redis-server.

    flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/session_scale.py [--users 20 --sessions 10000 --idle 30 --only browser,admin]

Starts its own redis-server, fills it with tests/scale_fill.py (one Lua loop per user), then
prints, one line each: the stats call (one user's and the admin's); an admin page refresh
(one page + stats, first and deep); the user's first listing page; session search (time to
the first matches, and to the end); the commands an idle app sends (INFO commandstats over
--idle seconds); how long another device's message takes to show in the open chat and in
the browser; and key latency in the browser and the admin panel (Pilot, headless).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis
from textual import events

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ragtui.config import Settings  # noqa: E402
from ragtui.sessions import open_store  # noqa: E402
from ragtui.tui.app import RagTuiApp  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.scale_fill import fill, session_id, user_name  # noqa: E402
from tests.tui.fakes import FakeChatService  # noqa: E402


def make_app(settings, store, **kwargs) -> RagTuiApp:
    """The app as `ragtui` runs it: collection paused while it is built; the app freezes
    what start-up made and turns collection back on after its first frame."""
    gc.disable()
    return RagTuiApp(settings, store, FakeChatService(store), **kwargs)


def ms(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(int(q * len(values)), len(values) - 1)] * 1000


def summary(values: list[float]) -> str:
    return f"p50 {ms(values, 0.5):.1f} ms, p99 {ms(values, 0.99):.1f} ms, max {max(values) * 1000:.1f} ms (n={len(values)})"


def timed(call, runs: int) -> list[float]:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return took


def first_matches(store, user: str, text: str) -> tuple[float, float, int, int]:
    """(seconds to the first non-empty page of matches, seconds to the end, matches, pages)."""
    started = time.perf_counter()
    first, found, pages = None, 0, 0
    for batch in store.iter_search_sessions(user, text):
        pages += 1
        if batch and first is None:
            first = time.perf_counter() - started
        found += len(batch)
    return first if first is not None else float("nan"), time.perf_counter() - started, found, pages


async def wait_until(predicate, timeout: float = 30.0, what: str = "a condition") -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)  # look often without making the app do anything


def commands(client) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in client.info("commandstats").items()}


async def idle_app(settings, url: str, seconds: float) -> tuple[float, dict[str, int]]:
    """Commands per second one idle app instance sends (the bench's own INFO/CONFIG taken out)."""
    store = open_store(url, user=settings.user, data_dir=settings.data_dir)
    counter = redis.Redis.from_url(url, decode_responses=True)
    app = make_app(settings, store)
    async with app.run_test(size=(160, 50)):
        await wait_until(lambda: len(app.query_one("SessionBrowser").sessions) > 0 and app.screen.answering.model_ready)
        await asyncio.sleep(2)  # start-up reads done
        counter.config_resetstat()
        await asyncio.sleep(seconds)
        calls = commands(counter)
    counter.close()
    calls.pop("info", None)
    calls.pop("config|resetstat", None)
    return sum(calls.values()) / seconds, calls


async def other_device(settings, url: str, runs: int) -> tuple[list[float], list[float]]:
    """Seconds until another device's message shows in the open chat; and until a session
    it changed moves to the top of the browser."""
    from ragtui.tui.widgets.chat_messages import UserMessage

    store = open_store(url, user=settings.user, data_dir=settings.data_dir)
    phone = open_store(url, user=settings.user, data_dir=Path(settings.data_dir) / "phone")
    app = make_app(settings, store)
    chat, browser_delays = [], []
    async with app.run_test(size=(160, 50)) as pilot:
        browser = app.query_one("SessionBrowser")
        await wait_until(lambda: browser.sessions and app.screen.answering.model_ready)
        open_sid = browser.sessions[0].id
        app.query_one("#session-list").focus()
        await pilot.press("enter")
        await wait_until(lambda: app.screen.session_id == open_sid and app.query(UserMessage))
        await asyncio.sleep(1)
        for i in range(runs):
            text = f"from the phone {i}"
            started = time.perf_counter()
            phone.add_message(open_sid, "user", text)
            await wait_until(lambda: any(w.text == text for w in app.query(UserMessage)))
            chat.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        for i in range(runs):  # an older session, written on the phone, comes to the top
            sid = browser.sessions[5].id
            started = time.perf_counter()
            phone.add_message(sid, "user", f"phone again {i}")
            await wait_until(lambda: browser.sessions[0].id == sid)
            browser_delays.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
    phone.close()
    return chat, browser_delays


async def press_and_wait(app, key: str, changed) -> float:
    started = time.perf_counter()
    app.post_message(events.Key(key, None))  # as the driver delivers it
    await wait_until(changed, what=f"the effect of {key!r}")
    return time.perf_counter() - started


async def press_each(app, took: dict[str, list[float]], key: str, times: int, moved) -> None:
    """Press `key` `times` times, each timed until `moved()` (read before the press) changes."""
    for _ in range(times):
        before = moved()
        took.setdefault(key, []).append(await press_and_wait(app, key, lambda: moved() != before))
        await asyncio.sleep(0.03)  # a fast typist's pace, not a burst


async def browser_keys(settings, url: str, presses: int) -> tuple[dict[str, list[float]], int]:
    """Key latency in the chat screen's browser, each until the key's effect is there: the
    highlight moved (pages load as it scrolls down), a pane shown or hidden, a session
    opened (its messages on screen), the admin panel up (F4) and back (Esc)."""
    from textual.widgets import DataTable

    from ragtui.tui.widgets.chat_messages import UserMessage

    store = open_store(url, user=settings.user, data_dir=settings.data_dir)
    app = make_app(settings, store)
    took: dict[str, list[float]] = {"down": []}
    async with app.run_test(size=(160, 50)) as pilot:
        browser = app.query_one("SessionBrowser")
        await wait_until(lambda: browser.sessions and app.screen.answering.model_ready)
        options = app.query_one("#session-list")
        options.focus()
        await pilot.pause()
        for _ in range(presses):
            before = options.highlighted
            if before == len(browser.sessions) - 1:
                await wait_until(lambda: len(browser.sessions) > before + 1)  # the next page
            took["down"].append(await press_and_wait(app, "down", lambda: options.highlighted != before))
        loaded = len(browser.sessions)
        highlighted = lambda: options.highlighted  # noqa: E731
        for key, times in (("up", 30), ("pageup", 3), ("pagedown", 3), ("end", 1), ("home", 1)):
            await press_each(app, took, key, times, highlighted)
        for key, pane in (("f2", app.screen.browser), ("f3", app.screen.stats)):
            await press_each(app, took, key, 6, lambda: pane.display)  # shown, hidden, …
        options.focus()
        await asyncio.sleep(0.1)
        for _ in range(5):  # open a session: its two messages shown
            sid = browser.highlighted_session.id
            took.setdefault("enter (session opened, messages shown)", []).append(await press_and_wait(
                app, "enter", lambda: app.screen.session_id == sid and len(app.query(UserMessage)) == 1))
            await asyncio.sleep(0.2)  # the chat takes the focus once the session is shown
            options.focus()
            await wait_until(lambda: options.has_focus)
            await press_and_wait(app, "down", lambda: browser.highlighted_session.id != sid)
            await asyncio.sleep(0.1)
        for first in (True, False, False):  # F4: the admin panel laid out (made the first time), Esc back
            what = "f4 (admin panel up, first time)" if first else "f4 (admin panel up again)"
            took.setdefault(what, []).append(await press_and_wait(
                app, "f4", lambda: app.screen is not app.main and app.screen.query(DataTable)
                and app.screen.query_one(DataTable).size.height > 0))
            await asyncio.sleep(0.3)
            took.setdefault("esc (back from the admin panel)", []).append(
                await press_and_wait(app, "escape", lambda: app.screen is app.main))
            await asyncio.sleep(0.1)
    return took, loaded


async def admin_keys(settings, url: str, presses: int, pages: int) -> dict[str, list[float]]:
    """Key latency in the admin panel: cursor moves, page turns, typing in the filter, a
    session opened read-only and closed."""
    from textual.widgets import DataTable, Input

    from ragtui.tui.screens.session_view import SessionViewScreen

    store = open_store(url, user=None, data_dir=settings.data_dir)
    app = make_app(settings, store, admin=True)
    took: dict[str, list[float]] = {"first down, as the rows appear": [], "down": []}
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(lambda: app.screen.query_one(DataTable).row_count > 0)
        panel = app.screen
        table = panel.query_one(DataTable)
        # The app is still starting then (the first paint): that key is shown on its own;
        # the others once the panel is up, as in browser_keys.
        took["first down, as the rows appear"].append(await press_and_wait(app, "down", lambda: table.cursor_row != 0))
        await pilot.pause()
        for _ in range(presses):
            before = table.cursor_row
            took["down"].append(await press_and_wait(app, "down", lambda: table.cursor_row != before))
        cursor = lambda: table.cursor_row  # noqa: E731
        # (home and end scroll the table sideways; ctrl+home and ctrl+end go to the first and last row)
        for key, times in (("up", 30), ("pageup", 1), ("pagedown", 1), ("ctrl+end", 1), ("ctrl+home", 1)):
            await press_each(app, took, key, times, cursor)
        totals = panel.query_one("#admin-totals")
        shown = lambda: str(totals.render())  # noqa: E731
        for key, times in (("n", pages), ("b", 3)):
            for _ in range(times):
                await press_each(app, took, key, 1, shown)
                await asyncio.sleep(0.1)
        for _ in range(3):  # a session opened read-only (its messages shown), and closed
            took.setdefault("enter (read-only session shown)", []).append(await press_and_wait(
                app, "enter", lambda: isinstance(app.screen, SessionViewScreen) and app.screen.query("UserMessage")))
            await asyncio.sleep(0.1)
            took.setdefault("esc (back to the panel)", []).append(
                await press_and_wait(app, "escape", lambda: app.screen is panel))
            await press_and_wait(app, "down", lambda: True)
        field = panel.query_one("#admin-filter", Input)
        took["/ (to the filter)"] = [await press_and_wait(app, "slash", lambda: field.has_focus)]
        await asyncio.sleep(0.1)
        for ch in "user07-000042":
            before = field.value
            took.setdefault("filter key", []).append(await press_and_wait(app, ch, lambda: field.value != before))
        started = time.perf_counter()
        await wait_until(lambda: table.row_count and str(table.get_row_at(0)[1]) == "user07-0"
                         and "matches" in str(totals.render()), timeout=60)
        took["filter result (debounce 0.2 s + the store's search)"] = [time.perf_counter() - started]
    return took


PARTS = ("store", "idle", "device", "browser", "admin")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=10_000, help="per user")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds the idle app is watched")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of {','.join(PARTS)} (default: all)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if parts - set(PARTS):
        parser.error(f"--only: unknown part(s) {', '.join(sorted(parts - set(PARTS)))}")

    tmp = Path(tempfile.mkdtemp(prefix="ragtui-scale-"))
    server = RedisServer(tmp / "redis").start()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        took = fill(client, users=args.users, sessions_per_user=args.sessions, answers=True)
        total = args.users * args.sessions
        print(f"filled {total:,} sessions ({args.users} users × {args.sessions:,}, 2 messages each) "
              f"in {took:.1f} s; redis used_memory {client.info('memory')['used_memory_human']}")
        user = user_name(7)
        admin = open_store(server.url, user=None, data_dir=tmp / "admin")
        mine = open_store(server.url, user=user, data_dir=tmp / "user")
        assert admin.count_sessions() == total, admin.count_sessions()

        if "store" in parts:
            store_reads(admin, mine, user, args)
        settings = Settings(user=user, ttl=86400, data_dir=tmp / "app", theme="textual-dark")
        if "idle" in parts:
            rate, calls = await idle_app(settings, server.url, args.idle)
            top = ", ".join(f"{k} {v}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1])[:6])
            print(f"idle app over {args.idle:.0f} s: {rate:.2f} commands/s ({top or 'none'})")
        if "device" in parts:
            chat, listing = await other_device(settings, server.url, args.runs)
            print(f"another device's message in the open chat: {summary(chat)}")
            print(f"another device's change at the top of the browser: {summary(listing)}")
        if "browser" in parts:
            downs = min(300, args.sessions - 1)
            keys, loaded = await browser_keys(settings, server.url, downs)
            print(f"browser: {downs} × down loaded {loaded} rows as it scrolled")
            for what, values in keys.items():
                print(f"browser key latency, {what}: {summary(values)}")
            every = [v for values in keys.values() for v in values]
            print(f"browser key latency, every key above: {summary(every)}")
        if "admin" in parts:
            keys = await admin_keys(settings, server.url, 98, pages=min(10, total // 100 - 1))
            for what, values in keys.items():
                print(f"admin key latency, {what}: {summary(values)}")
            every = [v for what, values in keys.items() if not what.startswith("filter result") for v in values]
            print(f"admin key latency, every key above (not the search): {summary(every)}")
        admin.close()
        mine.close()
        client.close()
    finally:
        server.stop()


def store_reads(admin, mine, user: str, args) -> None:
    """The store calls the screens make, timed without a screen."""
    total = args.users * args.sessions
    print(f"stats, one user:          {summary(timed(mine.get_session_stats, args.runs))}")
    print(f"stats, admin (all users): {summary(timed(admin.get_session_stats, args.runs))}")
    page = lambda offset: (admin.get_all_active_sessions(None, limit=101, offset=offset),  # noqa: E731
                           admin.get_session_stats())
    print(f"admin page refresh (101 rows + stats), first page: {summary(timed(lambda: page(0), args.runs))}")
    print(f"admin page refresh, rows 100,000+:                 {summary(timed(lambda: page(100_000), args.runs))}")
    print(f"browser first page (51 rows + count):   "
          f"{summary(timed(lambda: (mine.get_all_active_sessions(user, 51), mine.count_sessions(user)), args.runs))}")
    for text, what in ((f"topic {args.sessions - 1}", "matches on the first page"),
                       ("topic 1", "matches everywhere"),
                       (f"{user} question 42", "one title, deep")):
        first, end, found, pages = first_matches(mine, user, text)
        print(f"search {text!r} ({what}): first matches after {first * 1000:.0f} ms, "
              f"all {found} after {end * 1000:.0f} ms ({pages} pages of 50 sessions)")
    find = timed(lambda: admin.find_sessions(session_id(user, 42), limit=101), 3)
    print(f"admin filter {session_id(user, 42)!r} (server-side, all {total:,}): {summary(find)}")


if __name__ == "__main__":
    asyncio.run(main())
