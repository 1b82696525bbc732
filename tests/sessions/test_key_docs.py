"""The key tables in README.md and data/redis-key-layout.md (which the app indexes about
itself) name exactly the keys, session fields and event kinds the store writes: this fails
when the two drift apart."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragtui.sessions import open_store
from ragtui.sessions.events import KINDS
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


def documented_session_fields(path: Path, section: str) -> set[str]:
    """The fields the session HASH row lists before its " — " remark."""
    text = path.read_text(encoding="utf-8").split(section, 1)[1]
    row = re.search(r"^\| `[^`]+:session:[^`:]+` \| HASH \| ([^|]+?) — ", text, re.MULTILINE)
    return set(row.group(1).split(", "))


@pytest.mark.parametrize("doc, section", [("README.md", "## Redis keys\n"),
                                          ("data/redis-key-layout.md", "# Redis key layout\n")])
def test_the_documented_session_fields_are_the_ones_a_session_has(doc, section):
    store = open_store("memory")
    sid = store.create_session("alice", "a title", model="a model")
    written = set(store.client.hgetall(store.keys.meta("alice", sid)))
    store.close()
    assert documented_session_fields(ROOT / doc, section) == written


def test_the_documented_event_kinds_are_the_ones_published():
    text = (ROOT / "data/redis-key-layout.md").read_text(encoding="utf-8")
    paragraph = text.split("Event kinds:", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"`([a-z]+)`", paragraph)) - {"id"} == KINDS  # (`id`: the add event's message id)
