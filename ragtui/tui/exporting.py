"""Store actions started from the UI: exporting a session to a file, and running a store
call in a worker that reports back."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from textual.dom import DOMNode

from .. import paths
from . import messages as msg

EXTENSIONS = {"md": ".md", "json": ".json"}


def export_to_file(store, session_id: str, fmt: str, data_dir: Path) -> Path:
    """Export the whole session (not just what is on screen); returns the file's path."""
    from ..sessions import SessionNotFound
    from ..sessions.export import export_session

    session = store.get_session(session_id)
    if session is None:
        raise SessionNotFound(f"session {session_id} has expired or was deleted")
    text = export_session(session, store.get_conversation_history(session_id), fmt)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", session.title or "chat").strip("-").lower()[:40] or "chat"
    folder = paths.ensure_private_dir(Path(data_dir) / "exports")
    path = folder / f"{slug}-{session_id[:8]}{EXTENSIONS[fmt]}"
    path.write_text(text, encoding="utf-8")
    return path


def run_store_action(node: DOMNode, action: Callable[[], Any], note: str | Callable[[Any], str]) -> None:
    """Run a store call in a worker (it may wait on Redis); `node` receives StoreActionDone
    with `note` (or `note(result)`), or the error."""

    def work() -> None:
        try:
            result = action()
        except Exception as exc:  # reported to the user; the next refresh shows the truth
            node.post_message(msg.StoreActionDone(f"Failed: {exc}", "error"))
            return
        node.post_message(msg.StoreActionDone(note(result) if callable(note) else note))

    node.run_worker(work, thread=True, group="store-action")
