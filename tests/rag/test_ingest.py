"""Ingest is incremental by content, skips what it cannot read, and never aborts."""
from __future__ import annotations

import json
import os

import pytest

from ragtui.rag.embed import VECTORS
from ragtui.rag.index import Index
from ragtui.rag.ingest import Ingester, PYTHON_DOCS_PREFIX


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    write(root / "kettle.md", "# Kettle\n\nThe kettle boils water for tea.\n")
    write(root / "guide" / "toaster.txt", "The toaster browns bread in two minutes.\n")
    write(root / "guide" / "blender.rst", "Blender\n=======\n\nThe blender crushes ice.\n")
    return root


@pytest.fixture
def index(tmp_path):
    return Index(tmp_path / "index")


def sources(index):
    return set(index.file_hashes())


def test_first_ingest_indexes_every_supported_file(corpus, index, fake_embedder):
    report = Ingester(index, lambda: fake_embedder).ingest([corpus])
    assert (report.added, report.updated, report.unchanged, report.removed) == (3, 0, 0, 0)
    assert sources(index) == {str(corpus / "kettle.md"), str(corpus / "guide/toaster.txt"),
                              str(corpus / "guide/blender.rst")}
    assert index.chunk_count() == report.chunks == fake_embedder.calls == 3


def test_unchanged_files_are_skipped_without_embedding(corpus, index, fake_embedder):
    Ingester(index, lambda: fake_embedder).ingest([corpus])
    calls = fake_embedder.calls
    report = Ingester(index, lambda: fake_embedder).ingest([corpus])
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    assert fake_embedder.calls == calls


def test_changed_file_is_reindexed_and_deleted_file_removed(corpus, index, fake_embedder):
    ingester = Ingester(index, lambda: fake_embedder)
    ingester.ingest([corpus])
    write(corpus / "kettle.md", "# Kettle\n\nThe kettle now also makes soup.\n")
    os.remove(corpus / "guide" / "toaster.txt")
    report = ingester.ingest([corpus])
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 1, 1, 1)
    assert str(corpus / "guide/toaster.txt") not in sources(index)
    texts = [h.text for h in index.search("soup", fake_embedder.embed_query("soup"), k=10, mode="fts")]
    assert texts == ["The kettle now also makes soup."]  # the old passage is gone
    assert index.search("toaster", fake_embedder.embed_query("toaster"), k=10, mode="fts") == []


def test_files_outside_the_given_paths_are_left_alone(corpus, index, fake_embedder):
    ingester = Ingester(index, lambda: fake_embedder)
    ingester.ingest([corpus])
    ingester.ingest([corpus / "kettle.md"])
    assert len(sources(index)) == 3


def test_hidden_binary_unreadable_empty_and_undecodable_files(corpus, index, fake_embedder):
    write(corpus / ".secret.md", "hidden file")
    write(corpus / ".git" / "notes.md", "hidden folder")
    (corpus / "image.txt").write_bytes(b"\x89PNG\x00\x00binary")
    (corpus / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    write(corpus / "empty.md", "")
    locked = write(corpus / "locked.md", "no permission")
    locked.chmod(0)
    (corpus / "photo.jpg").write_bytes(b"\xff\xd8")
    report = Ingester(index, lambda: fake_embedder).ingest([corpus])
    skipped = dict(report.skipped)
    assert skipped[str(corpus / "image.txt")] == "binary file"
    assert skipped[str(corpus / "latin1.txt")].startswith("not UTF-8 text")
    assert skipped[str(corpus / "empty.md")] == "empty"
    if os.geteuid() != 0:  # root reads anything
        assert skipped[str(corpus / "locked.md")].startswith("unreadable")
    assert report.added == len(sources(index)) >= 3
    assert not any(".secret" in s or ".git" in s or "photo" in s for s in sources(index))
    assert report.ignored == {".jpg": 1}  # photo.jpg: not a format ragtui reads
    assert "1 file of other types ignored (1 .jpg)" in report.summary()  # says which, so the user knows what to convert


def test_a_file_that_becomes_unusable_leaves_the_index(corpus, index, fake_embedder):
    ingester = Ingester(index, lambda: fake_embedder)
    ingester.ingest([corpus])
    write(corpus / "kettle.md", "")
    report = ingester.ingest([corpus])
    assert report.removed == 1
    assert str(corpus / "kettle.md") not in sources(index)


def test_rebuild_starts_over(corpus, index, fake_embedder):
    ingester = Ingester(index, lambda: fake_embedder)
    ingester.ingest([corpus])
    report = ingester.ingest([corpus / "kettle.md"], rebuild=True)
    assert report.added == 1
    assert sources(index) == {str(corpus / "kettle.md")}


def test_a_missing_path_is_reported_and_its_documents_removed(corpus, index, fake_embedder):
    ingester = Ingester(index, lambda: fake_embedder)
    ingester.ingest([corpus / "guide", corpus / "kettle.md"])
    (corpus / "guide" / "toaster.txt").unlink()
    (corpus / "guide" / "blender.rst").unlink()
    (corpus / "guide").rmdir()
    report = ingester.ingest([corpus / "guide"])
    assert (str(corpus / "guide"), "not found") in report.skipped
    assert sources(index) == {str(corpus / "kettle.md")}


def test_python_reference_is_one_document_per_topic(index, fake_embedder):
    from pydoc_data.topics import topics

    report = Ingester(index, lambda: fake_embedder).ingest([], python_docs=True)
    assert report.added == len(topics) == index.document_count()
    assert f"{PYTHON_DOCS_PREFIX}assert" in sources(index)
    hits = index.search("assert", fake_embedder.embed_query("AssertionError __debug__"), k=3, mode="vector")
    assert hits[0].source == f"{PYTHON_DOCS_PREFIX}assert"
    assert hits[0].title == 'The "assert" statement'


def test_unchanged_reingest_never_opens_lancedb(corpus, tmp_path, fake_embedder):
    """Importing LanceDB alone costs seconds: the manifest answers "nothing changed"."""
    Ingester(Index(tmp_path / "index"), lambda: fake_embedder).ingest([corpus])
    fresh = Index(tmp_path / "index")
    report = Ingester(fresh, lambda: fake_embedder).ingest([corpus])
    assert report.unchanged == 3 and fresh.chunk_count() == 3
    assert fresh._tables is None


def test_a_lost_manifest_is_rebuilt_from_the_index(corpus, tmp_path, fake_embedder):
    Ingester(Index(tmp_path / "index"), lambda: fake_embedder).ingest([corpus])
    (tmp_path / "index" / "manifest.json").write_text("{not json")
    report = Ingester(Index(tmp_path / "index"), lambda: fake_embedder).ingest([corpus])
    assert (report.added, report.unchanged) == (0, 3)


@pytest.mark.parametrize("recorded", ["other vectors", None])
def test_an_index_of_other_vectors_is_rebuilt(corpus, tmp_path, fake_embedder, recorded):
    """Vectors from another embedder (or the float ones an index recording none holds) would not
    match today's queries: the next ingest embeds everything again."""
    Ingester(Index(tmp_path / "index"), lambda: fake_embedder).ingest([corpus])
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["vectors"] == VECTORS
    if recorded is None:
        del manifest["vectors"]
    else:
        manifest["vectors"] = recorded
    manifest_path.write_text(json.dumps(manifest))
    stale = Index(tmp_path / "index")
    assert stale.outdated

    fake_embedder.calls = 0
    report = Ingester(stale, lambda: fake_embedder).ingest([])

    assert (report.added, fake_embedder.calls) == (3, 3), "what it held, embedded again"
    assert not Index(tmp_path / "index").outdated
    assert json.loads(manifest_path.read_text())["vectors"] == VECTORS
