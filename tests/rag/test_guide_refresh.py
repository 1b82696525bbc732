"""The built-in user guide reaches an existing index when it changes (an upgrade's new guide),
and never lands in an index of the user's own documents."""
from __future__ import annotations

from ragtui.config import load_settings
from ragtui.rag.chat import ChatService
from ragtui.rag.ingest import Ingester
from ragtui.rag.retriever import open_index
from ragtui.sessions import open_store

from .conftest import THREADS


def _load_retriever(data_dir, guide):
    settings = load_settings({"data_dir": str(data_dir), "store": "memory", "threads": THREADS})
    said: list[str] = []
    retriever = ChatService(open_store("memory"), settings, corpus_dir=guide)._load_retriever(said.append)
    return retriever, said


def test_a_changed_guide_reaches_an_index_that_holds_it_beside_the_users_documents(tmp_path, embedder):
    guide, mine = tmp_path / "guide", tmp_path / "mine"
    guide.mkdir(), mine.mkdir()
    (guide / "sessions.md").write_text("# Sessions\n\nA session expires after an hour of idle time.\n")
    (mine / "notes.md").write_text("# Notes\n\nThe boiler is serviced every October.\n")
    _load_retriever(tmp_path / "data", guide)  # a first start indexes the guide
    Ingester(open_index(tmp_path / "data"), lambda: embedder).ingest([mine])  # then the user's own

    (guide / "keys.md").write_text("# Keys\n\nPress p in the session browser to pin a session.\n")
    retriever, said = _load_retriever(tmp_path / "data", guide)
    assert any("1 added" in line for line in said)
    assert retriever.search("how do I pin a session", k=1)[0].source.endswith("keys.md")

    assert str(mine / "notes.md") in retriever.index.file_hashes()  # the user's documents stay

    _, said = _load_retriever(tmp_path / "data", guide)  # unchanged: nothing indexed, nothing said
    assert not any("the ragtui user guide" in line for line in said)


def test_an_index_of_only_the_users_documents_gets_no_guide(tmp_path, embedder):
    guide, mine = tmp_path / "guide", tmp_path / "mine"
    guide.mkdir(), mine.mkdir()
    (guide / "sessions.md").write_text("# Sessions\n\nA session expires after an hour of idle time.\n")
    (mine / "notes.md").write_text("# Notes\n\nThe boiler is serviced every October.\n")
    Ingester(open_index(tmp_path / "data"), lambda: embedder).ingest([mine])

    retriever, _ = _load_retriever(tmp_path / "data", guide)
    assert list(retriever.index.file_hashes()) == [str(mine / "notes.md")]
