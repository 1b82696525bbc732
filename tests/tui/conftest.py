"""Helpers for Pilot tests: build the app on a real store with the fake chat service."""
from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from ragtui.config import Settings
from tests.tui.fakes import FakeChatService


@pytest.fixture
def settings(private_data_dir):
    return Settings(user="alice", ttl=3600, data_dir=private_data_dir, theme="textual-dark")


@pytest.fixture
def memory_store():
    from ragtui.sessions import open_store

    store = open_store("memory")
    yield store
    store.close()


def make_app(settings, store, service=None, **kwargs):
    from ragtui.tui.app import RagTuiApp

    service = service if service is not None else FakeChatService(store)
    return RagTuiApp(settings, store, service, **kwargs)


async def until(pilot, predicate, timeout: float = 10.0, what: str = "condition"):
    """Let the app run until `predicate()` holds; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def screen_text(app) -> str:
    """Everything visible on the current screen, as plain text (what a user reads)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
