"""What users rely on from search: names count, k only cuts, one document cannot crowd the
top, and an index made by an older ragtui is rebuilt instead of failing."""
from __future__ import annotations

import json

import pytest

from ragtui.rag.documents import Chunk
from ragtui.rag.index import LAYOUT, Index, IndexOutdated
from ragtui.rag.ingest import Ingester
from ragtui.rag.retriever import Retriever

# A long catch-all document about many things, and short specific ones.
CATCH_ALL = """# Keys

## Naming
Key names are binary safe strings; a colon often separates the parts, as in user:1000:profile.

## Types
A key holds a string, a list, a set, a sorted set, a hash or a stream, and keeps that type.

## Scanning
SCAN walks the key space a few keys at a time, so a large database is never blocked.

## Expiry
A key can be given an expiry with EXPIRE; when the time comes, it is deleted.

## Renaming
RENAME gives a key a new name, replacing any key that already had it.

## Memory
Small hashes and lists are stored compactly, which saves memory for many small keys.
"""
FILES = {
    "keys.md": CATCH_ALL,
    "ttl.md": "# TTL\n\nReturns the remaining time to live of a key that has a timeout, in seconds.\n",
    "keyspace-notifications.md": "# Events\n\nClients can subscribe to Pub/Sub channels to receive events "
                                 "that affect the data set, such as a key that expired or was deleted.\n",
    "lru-cache.md": "# Using Redis as a cache\n\nWhen memory is full, the eviction policy decides which "
                    "keys are removed, for example the least recently used ones.\n",
}


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("library")
    for name, text in FILES.items():
        (root / name).write_text(text, encoding="utf-8")
    index = Index(root / "index")
    Ingester(index, lambda: embedder).ingest([root / name for name in FILES])
    return root, index


def first_file(hits) -> str:
    return hits[0].source.rsplit("/", 1)[-1]


@pytest.mark.parametrize("mode", ["hybrid", "vector", "fts"])
def test_a_question_about_a_specific_topic_finds_its_file_not_the_catch_all(library, embedder, mode):
    _, index = library
    hits = Retriever(index, embedder).search(
        "How can I find out how many seconds a key has left before it expires?", k=3, mode=mode)
    assert first_file(hits) == "ttl.md"


@pytest.mark.parametrize("mode", ["hybrid", "vector"])
def test_a_question_in_other_words_than_the_document_finds_it(library, embedder, mode):
    """The issue's second miss: the question says "notified" and "expires", the document
    "events" and "expired"; the catch-all's Expiry section says "expiry" and "deleted"."""
    _, index = library
    hits = Retriever(index, embedder).search("How can my client be notified when a key expires?", k=3, mode=mode)
    assert first_file(hits) == "keyspace-notifications.md"


@pytest.mark.parametrize("mode", ["hybrid", "fts"])
def test_a_file_name_counts_even_when_the_text_never_says_it(library, embedder, mode):
    _, index = library
    hits = Retriever(index, embedder).search("keyspace notifications", k=3, mode=mode)
    assert first_file(hits) == "keyspace-notifications.md"


@pytest.mark.parametrize("mode", ["hybrid", "vector", "fts"])
def test_top_results_do_not_depend_on_k(library, embedder, mode):
    _, index = library
    retriever = Retriever(index, embedder)
    question = "Which keys are removed when memory runs out?"
    wide = retriever.search(question, k=20, mode=mode)
    for k in (1, 3, 5):
        assert retriever.search(question, k=k, mode=mode) == wide[:k]


def test_one_long_document_cannot_fill_the_top(tmp_path, fake_embedder):
    """Every passage of the long document matches the query better than the short one's,
    yet the short document makes the top three."""
    sections = "\n\n".join(f"## Part {n}\n\nKettle descaling step {n}." for n in range(1, 9))
    (tmp_path / "manual.md").write_text(f"# Manual\n\n{sections}\n", encoding="utf-8")
    (tmp_path / "care.md").write_text("# Care\n\nKettle descaling needs white vinegar, warm water and some patience.\n",
                                      encoding="utf-8")
    index = Index(tmp_path / "index")
    Ingester(index, lambda: fake_embedder).ingest([tmp_path / "manual.md", tmp_path / "care.md"])
    hits = index.search("kettle descaling", fake_embedder.embed_query("kettle descaling"), k=8, mode="vector")
    care = next(h for h in hits if h.source.endswith("care.md"))
    assert all(h.similarity > care.similarity for h in hits if h.source.endswith("manual.md"))
    assert care in hits[:3]


def test_the_label_names_the_file_when_the_title_does_not():
    assert Chunk("/d/keyspace-notifications.md", "Events", "x", 0, 1).label == "keyspace notifications · Events"
    assert Chunk("/d/ttl.md", "TTL › Return", "x", 0, 1).label == "TTL › Return"
    assert Chunk("python-docs:assert", 'The "assert" statement', "x", 0, 1).label == 'The "assert" statement'
    assert Chunk("/d/ttl.md", "TTL", "x", 0, 1).searchable_text == "TTL\nx"


def test_an_index_made_by_an_older_ragtui_is_rebuilt_on_first_search(tmp_path, fake_embedder):
    """Layout 1 had no labels and no document vectors, and a manifest of documents alone."""
    import lancedb
    import pyarrow as pa

    root = tmp_path / "docs"
    root.mkdir()
    kettle = root / "kettle.md"
    kettle.write_text("# Kettle\n\nThe kettle boils water for tea.\n", encoding="utf-8")
    directory = tmp_path / "index"
    db = lancedb.connect(str(directory))
    db.create_table("chunks", pa.table({
        "source": [str(kettle)], "title": ["Kettle"], "location": ["chars 10-40"],
        "text": ["The kettle boils water for tea."], "content": ["Kettle\nThe kettle boils water for tea."],
        "vector": pa.FixedSizeListArray.from_arrays(pa.array([0.0] * 384, type=pa.float32()), 384),
    }))
    db.create_table("files", pa.table({"source": [str(kettle)], "hash": ["old"], "chunks": pa.array([1], pa.int32()),
                                       "indexed_at": [0.0]}))
    (directory / "manifest.json").write_text(json.dumps({str(kettle): ["old", 1]}))

    index = Index(directory)
    assert index.outdated
    with pytest.raises(IndexOutdated, match="ragtui ingest --rebuild"):
        index.search("kettle", fake_embedder.embed_query("kettle"))
    hits = Retriever(index, fake_embedder).search("what boils water?", k=3)
    assert [h.source for h in hits] == [str(kettle)]
    assert not index.outdated and not Index(directory).outdated
    assert json.loads((directory / "manifest.json").read_text())["layout"] == LAYOUT


def test_ingest_into_an_older_index_rebuilds_what_it_held_too(tmp_path, fake_embedder):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nApples are red.\n", encoding="utf-8")
    (root / "b.md").write_text("# B\n\nBananas are yellow.\n", encoding="utf-8")
    index = Index(tmp_path / "index")
    Ingester(index, lambda: fake_embedder).ingest([root / "a.md"])
    manifest = tmp_path / "index" / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text())["documents"]))  # as layout 1 saved it

    index = Index(tmp_path / "index")
    report = Ingester(index, lambda: fake_embedder).ingest([root / "b.md"])
    assert report.added == 2 and not index.outdated
    assert set(index.file_hashes()) == {str(root / "a.md"), str(root / "b.md")}


@pytest.mark.parametrize("query", ["", "how is it?", "(", "AND OR NOT", 'say "hi', "a:b*", "'; DROP TABLE chunks"])
def test_queries_of_stop_words_or_syntax_never_fail(tmp_path, fake_embedder, query):
    (tmp_path / "kettle.md").write_text("# Kettle\n\nThe kettle boils water.\n", encoding="utf-8")
    index = Index(tmp_path / "index")
    Ingester(index, lambda: fake_embedder).ingest([tmp_path / "kettle.md"])
    vector = fake_embedder.embed_query("kettle")
    assert index.search(query, vector, mode="fts") == []  # no word of it is in the passage
    assert [h.title for h in index.search(query, vector, mode="hybrid")] == ["Kettle"]
