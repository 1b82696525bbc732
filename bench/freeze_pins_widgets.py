"""What a gc.freeze() while a chat is shown costs: the chat's widgets outlive it.

    .venv/bin/python bench/freeze_pins_widgets.py

Opens a 20-message session in the app (headless, memory store), optionally calls gc.freeze()
(as a freeze once the admin panel is first built would, with a chat open), starts a new chat,
ends the app, then counts how many of the 20 message widgets a full collection could not free.
Widgets sit in reference cycles (parent and children), so only the collector frees them;
frozen, it never looks at them again.
"""
from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import weakref
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ragtui.config import Settings  # noqa: E402
from ragtui.sessions import open_store  # noqa: E402
from ragtui.tui.app import RagTuiApp  # noqa: E402
from ragtui.tui.widgets.chat_messages import UserMessage  # noqa: E402
from tests.tui.conftest import until  # noqa: E402
from tests.tui.fakes import FakeChatService  # noqa: E402

MESSAGES = 20  # one page: all are mounted when the session opens


async def widgets_left(freeze: bool) -> tuple[int, int]:
    store = open_store("memory")
    sid = store.create_session("u", "a chat")
    for i in range(MESSAGES):
        store.add_message(sid, "user", f"question {i}")
    settings = Settings(user="u", ttl=3600, data_dir=Path(tempfile.mkdtemp()), theme="textual-dark")
    app = RagTuiApp(settings, store, FakeChatService(store))
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.query_one("SessionBrowser").sessions, what="the listing")
        app.query_one("#session-list").focus()
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query(UserMessage)) == MESSAGES, what="the chat")
        shown = [weakref.ref(widget) for widget in app.query(UserMessage)]
        if freeze:
            gc.freeze()
        await pilot.press("ctrl+n")
        await until(pilot, lambda: not app.query(UserMessage), what="the new chat")
    del app, pilot, store
    gc.collect()
    left = sum(ref() is not None for ref in shown)
    gc.unfreeze()
    gc.collect()
    return left, sum(ref() is not None for ref in shown)


def main() -> None:
    for freeze in (False, True):
        left, unfrozen = asyncio.run(widgets_left(freeze))
        print(f"gc.freeze() with the chat shown: {'yes' if freeze else 'no '}  "
              f"message widgets left after the app ended and a full collection: {left}/{MESSAGES} "
              f"(after gc.unfreeze(): {unfrozen})")


if __name__ == "__main__":
    main()
