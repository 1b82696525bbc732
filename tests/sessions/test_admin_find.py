"""The admin's search over everyone's sessions (`find_sessions`): matched a slice of a
listing at a time, so no script holds Redis for long, and reused for page turns."""
from __future__ import annotations

import pytest

from ragtui.sessions import store as store_module


@pytest.fixture
def admin(make_store, backend, monkeypatch):
    monkeypatch.setattr(store_module, "FIND_SLICE", 3)
    store = make_store(backend)
    made = {}  # sid -> (user, title), oldest first
    users = ["ann"] * 8 + ["bob", "cyd"] * 3 + ["dee", "fay", "gus"]  # 3 slices; 1 each; one together
    for i, user in enumerate(users):
        title = f"report {i}" if i % 2 else f"chat {i}"
        made[store.create_session(user, title)] = (user, title)
    return store, made


def newest_first(made, keep):
    return [sid for sid, (user, title) in reversed(made.items()) if keep(sid, user, title)]


def test_a_search_in_slices_finds_every_match_newest_first(admin):
    store, made = admin
    assert [s.id for s in store.find_sessions("REPORT", limit=100)] == newest_first(made, lambda s, u, t: "report" in t)
    assert [s.id for s in store.find_sessions("ann", limit=100)] == newest_first(made, lambda s, u, t: u == "ann")
    some = list(made)[11]
    assert [s.id for s in store.find_sessions(some[:12], limit=100)] == [some]
    assert store.find_sessions("nowhere", limit=100) == []


def test_pages_of_one_search_cover_its_matches_once(admin):
    store, made = admin
    pages = [store.find_sessions("report", limit=3, offset=offset) for offset in range(0, 12, 3)]
    assert [s.id for page in pages for s in page] == newest_first(made, lambda s, u, t: "report" in t)


def test_page_turns_reuse_the_search_and_a_new_search_sees_what_changed(admin, monkeypatch):
    store, made = admin
    first = [s.id for s in store.find_sessions("chat", limit=100)]
    gone = first[0]
    store.clear_session(gone)
    new = store.create_session("eve", "chat made since")
    again = [s.id for s in store.find_sessions("chat", limit=100)]
    assert again == first[1:]  # the same matches (not searched again), less the one gone
    monkeypatch.setattr(store_module, "FIND_FRESH", 0.0)  # stale at once: searched again
    assert [s.id for s in store.find_sessions("chat", limit=100)] == [new, *first[1:]]
