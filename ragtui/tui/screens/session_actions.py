"""What the session browser asks for a session: resume it (and load its earlier messages),
rename, pin or unpin, export, delete.

Store calls may wait on Redis: `load` and `load_earlier` run in the caller's worker thread
and return the message to post; the others ask what they need in a dialog, then run the
call in a worker, and `node` hears StoreActionDone.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable

from textual.dom import DOMNode
from textual.message import Message

from ...sessions.api import SessionStoreAPI
from ...sessions.models import Session
from .. import messages as msg
from ..exporting import run_store_action
from ..widgets.session_browser import SessionBrowser
from .dialogs import ConfirmDialog, TextPrompt, choose_format_and_export

PAGE = 20  # messages mounted at a time: a 1,000-message session opens at once
SessionRequest = (SessionBrowser.RenameRequested | SessionBrowser.PinToggled
                  | SessionBrowser.ExportRequested | SessionBrowser.DeleteRequested)


def load(store: SessionStoreAPI, session_id: str) -> Message:
    """In a worker: the session's newest messages (SessionLoaded), or why it can't be opened.
    Opening a session is activity: its TTL restarts, as a new message would restart it."""
    try:
        session = store.get_session(session_id)
        if session is None:
            return msg.StoreActionDone("That session has expired or was deleted.", "warning")
        if not session.pinned and session.ttl is not None:
            session = replace(session, ttl=store.extend_session(session_id))
        messages = store.get_messages(session_id, -PAGE, -1)
    except Exception as exc:  # e.g. unreachable and never seen by this process
        return msg.StoreActionDone(f"Cannot open that session: {exc}", "error")
    import rich.markdown  # noqa: F401 -- answers are drawn with it: import here, not on the UI thread

    return msg.SessionLoaded(session, messages, session.message_count)


def load_earlier(store: SessionStoreAPI, session_id: str, shown_from: int) -> Message:
    """In a worker: the page of messages before the oldest shown (`shown_from`)."""
    start = max(shown_from - PAGE, 0)
    try:
        messages = store.get_messages(session_id, start, shown_from - 1)
    except Exception as exc:  # e.g. unreachable: the button stays, to try again
        return msg.StoreActionDone(f"Cannot load earlier messages: {exc}", "error")
    return msg.EarlierLoaded(session_id, messages, start)


def requested(node: DOMNode, store: SessionStoreAPI, event: SessionRequest, *, data_dir: Path,
              before_delete: Callable[[str], None]) -> None:
    """Do what the browser asked for `event.session`; `before_delete(id)` runs once a delete
    is confirmed (e.g. to leave the session if it is open)."""
    session = event.session
    if isinstance(event, SessionBrowser.RenameRequested):
        rename(node, store, session)
    elif isinstance(event, SessionBrowser.PinToggled):
        toggle_pin(node, store, session)
    elif isinstance(event, SessionBrowser.ExportRequested):
        choose_format_and_export(node, store, session.id, data_dir)
    elif isinstance(event, SessionBrowser.DeleteRequested):
        delete(node, store, session, before=partial(before_delete, session.id))


def rename(node: DOMNode, store: SessionStoreAPI, session: Session) -> None:
    def renamed(title: str | None) -> None:
        if title:
            run_store_action(node, lambda: store.rename_session(session.id, title), f"Renamed to “{title}”.")

    node.app.push_screen(TextPrompt("New title:", session.title), renamed)


def toggle_pin(node: DOMNode, store: SessionStoreAPI, session: Session) -> None:
    if session.pinned:
        run_store_action(node, lambda: store.unpin_session(session.id), "Unpinned: it expires when idle again.")
    else:
        run_store_action(node, lambda: store.pin_session(session.id), "Pinned: it never expires.")


def delete(node: DOMNode, store: SessionStoreAPI, session: Session, *, before: Callable[[], None]) -> None:
    """Confirm, then call `before()` (e.g. leave the session if it is open) and delete it."""

    def confirmed(yes: bool | None) -> None:
        if yes:
            before()
            run_store_action(node, lambda: store.clear_session(session.id), "Session deleted.")

    node.app.push_screen(ConfirmDialog(f"Delete “{session.title or 'untitled'}” and all its messages?"), confirmed)
