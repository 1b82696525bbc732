"""The key tables in README.md and data/redis-key-layout.md (which the app indexes about
itself) name exactly the keys the store writes: this fails when the two drift apart."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragtui.sessions.keys import Keys

ROOT = Path(__file__).resolve().parents[2]


def store_keys(ns: str, user: str, sid: str) -> set[str]:
    keys = Keys(ns)
    names = [*keys.session_keys("U", "S"), keys.events("U"), keys.all_sessions, keys.owners, keys.users, keys.layout]
    return {name.replace("{u:U}", "{u:" + user + "}").replace(":S", ":" + sid) for name in names}


def documented_keys(path: Path, section: str) -> set[str]:
    """The first cell of every table row in `section`: | `key` | type | holds |."""
    text = path.read_text(encoding="utf-8").split(section, 1)[1]
    text = text.split("\n## ", 1)[0] if section.startswith("## ") else text
    return set(re.findall(r"^\| `([^`]+)` \|", text, re.MULTILINE))


@pytest.mark.parametrize("doc, section, ns, user, sid", [
    ("README.md", "## Redis keys\n", "ragtui", "USER", "SID"),
    ("data/redis-key-layout.md", "# Redis key layout\n", "{ns}", "<user>", "<sid>"),
])
def test_the_documented_key_layout_is_the_stores(doc, section, ns, user, sid):
    assert documented_keys(ROOT / doc, section) == store_keys(ns, user, sid)
