"""Write docs/screenshot.svg: the main screen after one question (fake model, fixed data).

    .venv/bin/python bench/tui_screenshot.py
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ragtui.config import Settings  # noqa: E402
from ragtui.sessions import open_store  # noqa: E402
from tests.tui.conftest import make_app, until  # noqa: E402
from tests.tui.test_snapshots import NOW, FrozenStore  # noqa: E402


async def main() -> None:
    store = open_store("memory")
    for user, title in (("alice", "Where are backups kept?"), ("alice", "Redis key layout")):
        sid = store.create_session(user, title=title)
        store.add_message(sid, "user", title)
    frozen = FrozenStore(store)
    app = make_app(Settings(user="alice"), frozen, clock=lambda: NOW, monotonic=lambda: 500.0)
    async with app.run_test(size=(140, 36)) as pilot:
        await until(pilot, lambda: app.screen.model_ready)
        app.query_one("PromptInput").cursor_blink = False
        await pilot.press(*"How do I start ragtui?", "enter")
        await until(pilot, lambda: app.query("AssistantMessage") and not app.screen.generating)
        await until(pilot, lambda: len(app.query_one("SessionBrowser").sessions) == 3)
        await pilot.pause(0.5)
        print(app.save_screenshot("screenshot.svg", path=str(ROOT / "docs")))


if __name__ == "__main__":
    asyncio.run(main())
