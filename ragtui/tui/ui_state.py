"""What the user chose in the app and expects back next time (the theme), kept in
`<data dir>/ui.json`. A missing or unreadable file is no choice at all."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FILE = "ui.json"


def load(data_dir: Path) -> dict[str, Any]:
    try:
        state = json.loads((Path(data_dir) / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save(data_dir: Path, **choices: Any) -> None:
    """Remember `choices` (best effort: a read-only data dir just forgets them)."""
    state = load(data_dir) | choices
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        (Path(data_dir) / FILE).write_text(json.dumps(state), encoding="utf-8")
    except OSError:
        pass
