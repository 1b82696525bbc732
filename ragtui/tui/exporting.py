"""Write a session to a file the user can open: Markdown or JSON under the data dir."""
from __future__ import annotations

import re
from functools import partial
from pathlib import Path

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


def choose_format_and_export(node: DOMNode, store, session_id: str, data_dir: Path) -> None:
    """Ask Markdown or JSON, then write the file in a worker; `node` receives StoreActionDone."""
    from .screens.dialogs import ExportFormatDialog

    def chosen(fmt: str | None) -> None:
        if fmt:
            work = partial(_export_reporting_to, node, store, session_id, fmt, data_dir)
            node.run_worker(work, thread=True, group="export")

    node.app.push_screen(ExportFormatDialog(), chosen)


def _export_reporting_to(node: DOMNode, store, session_id: str, fmt: str, data_dir: Path) -> None:
    try:
        path = export_to_file(store, session_id, fmt, data_dir)
    except Exception as exc:  # reported to the user; nothing else depends on it
        node.post_message(msg.StoreActionDone(f"Export failed: {exc}", "error"))
        return
    node.post_message(msg.StoreActionDone(f"Exported to {path}"))
