"""A big file shows progress while its passages are embedded, batch by batch, and every
passage keeps its own vector although they are embedded longest first."""
from __future__ import annotations

import io

import lancedb
import numpy as np

from ragtui.commands.rag import ProgressBar
from ragtui.rag.index import CHUNKS, Index
from ragtui.rag.ingest import PROGRESS_BATCH, IngestProgress, Ingester


def big_file(path, paragraphs: int):
    # Paragraphs of different lengths, so that sorting them by length really reorders them.
    path.write_text("\n\n".join(f"Paragraph {i} is about topic{i}. " + "More words here. " * (i % 20)
                                for i in range(paragraphs)), encoding="utf-8")
    return path


def test_one_big_file_reports_progress_per_batch_of_passages(tmp_path, fake_embedder):
    document = big_file(tmp_path / "big.txt", 1500)
    seen: list[IngestProgress] = []

    report = Ingester(Index(tmp_path / "index"), lambda: fake_embedder).ingest([document], progress=seen.append)

    assert report.chunks > 4 * PROGRESS_BATCH
    inside = [p for p in seen if 0 < p.chunks_indexed < report.chunks]
    assert len(inside) >= report.chunks // PROGRESS_BATCH - 1, "no progress while the file was embedded"
    assert all(p.current == str(document) and p.files_total == 1 for p in inside)
    fractions = [p.fraction for p in inside]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] < 1
    assert [p.chunks_indexed for p in inside] == sorted({p.chunks_indexed for p in inside})
    assert seen[-1].fraction == 1.0 and seen[-1].chunks_indexed == report.chunks


def test_each_passage_is_stored_with_its_own_vector(tmp_path, fake_embedder):
    document = big_file(tmp_path / "big.txt", 600)
    Ingester(Index(tmp_path / "index"), lambda: fake_embedder).ingest([document])

    table = lancedb.connect(str(tmp_path / "index")).open_table(CHUNKS).to_arrow()
    stored = np.array(table["vector"].to_pylist(), dtype=np.float32)
    expected = fake_embedder.embed(table["content"].to_pylist())
    assert len(stored) > 2 * PROGRESS_BATCH
    np.testing.assert_allclose(stored, expected, atol=1e-6)


def test_the_bar_moves_inside_a_file():
    stream = io.StringIO()
    ProgressBar("indexing", stream=stream, width=10).update(
        IngestProgress(files_done=1, files_total=1, chunks=1000, chunks_indexed=384, elapsed=4.0,
                       current="/docs/big.txt", fraction=0.384))
    assert stream.getvalue() == "indexing [###.......] 1/1 files  384/1000 chunks  96 chunks/s\n"
