"""Write a session to a file the user can open: Markdown or JSON under the data dir."""
from __future__ import annotations

import re
from pathlib import Path

from .. import paths

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
