"""Issue 9 case 10 (and the search part of case 9): ingest reads only regular files, bounds
what it reads by what it read, names the file in every warning; odd names stay one line."""
from __future__ import annotations

import io
import json
import logging
import os
import threading

import pytest

from ragtui import cli
from ragtui.rag import ingest as ingest_module
from ragtui.rag.index import Index
from ragtui.rag.ingest import Ingester
from tests.rag.pdf import minimal_pdf


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ingest(corpus, index, embedder, *paths):
    return Ingester(index, lambda: embedder).ingest(list(paths) or [corpus])


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    write(root / "kettle.md", "# Kettle\n\nThe kettle boils water for tea.\n")
    return root


@pytest.fixture
def index(tmp_path):
    return Index(tmp_path / "index")


def skipped(report) -> dict[str, str]:
    return {os.path.basename(path): reason for path, reason in report.skipped}


def test_a_symlink_to_a_device_is_refused_not_read(corpus, index, fake_embedder):
    (corpus / "zeros.txt").symlink_to("/dev/zero")
    report = ingest(corpus, index, fake_embedder)
    assert skipped(report) == {"zeros.txt": "not a regular file (a character device)"}
    assert report.added == 1
    given = ingest(corpus, index, fake_embedder, corpus / "zeros.txt")  # named on the command line too
    assert skipped(given) == {"zeros.txt": "not a regular file (a character device)"}


def test_a_fifo_is_skipped_not_waited_on(corpus, index, fake_embedder):
    fifo = corpus / "pipe.md"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=ingest(corpus, index, fake_embedder)), daemon=True)
    worker.start()
    worker.join(60)  # not a speed test: only turns a hang into a failure
    if worker.is_alive():  # release the reader the old code left blocked in open()
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("ingest waited on a FIFO")
    assert skipped(result["report"]) == {"pipe.md": "not a regular file (a FIFO)"}
    assert result["report"].added == 1


def test_the_size_limit_counts_bytes_read_not_what_stat_says(corpus, index, fake_embedder, monkeypatch):
    status = corpus / "status.txt"
    status.symlink_to("/proc/self/status")  # a regular file whose st_size is 0
    assert os.stat(status).st_size == 0 and len(status.read_bytes()) > 200
    monkeypatch.setattr(ingest_module, "MAX_FILE_BYTES", 200)
    report = ingest(corpus, index, fake_embedder)
    assert skipped(report) == {"status.txt": "larger than 0 MiB"}


def test_a_name_that_is_not_utf8_is_skipped_with_a_reason(corpus, index, fake_embedder):
    with open(os.path.join(os.fsencode(corpus), b"caf\xe9.md"), "w") as f:
        f.write("# Cafe\n\nCoffee is brewed here.\n")
    report = ingest(corpus, index, fake_embedder)
    assert list(skipped(report).values()) == ["its name is not valid UTF-8: rename it to index it"]
    assert report.added == 1


def test_pypdf_warnings_name_the_file(corpus, index, fake_embedder, caplog):
    pdf = minimal_pdf(["The furnace heats the house."])
    (corpus / "damaged.pdf").write_bytes(pdf.replace(b"0000000009", b"0000000019"))  # loads, with repairs
    (corpus / "cut.pdf").write_bytes(pdf.replace(b"%%EOF", b""))  # unreadable
    with caplog.at_level(logging.WARNING):
        report = ingest(corpus, index, fake_embedder)
    assert report.added == 2 and list(skipped(report)) == ["cut.pdf"]
    pypdf_lines = [r.getMessage() for r in caplog.records if r.name.startswith("pypdf")]
    assert pypdf_lines == []  # none reaches the terminal without the file's name
    ours = [r.getMessage() for r in caplog.records if r.name == "ragtui.rag.loaders"]
    assert f"{corpus / 'cut.pdf'}: EOF marker not found" in ours
    assert any(line.startswith(f"{corpus / 'damaged.pdf'}: ") for line in ours)
    assert all(line.startswith(str(corpus)) for line in ours)


HOSTILE_NAMES = ["new\nline.md", "carriage\rreturn.md", "nel\x85.md", "sep\u2028arator.md",
                 "evil\u202etxt.md", "esc\x1b]0;pwned\x07.md"]


def test_search_prints_one_json_line_per_query_and_one_line_per_result_whatever_the_names(
        tmp_path, fake_embedder, monkeypatch, capsys):
    from ragtui.rag import embed
    from ragtui.rag.retriever import open_index

    docs = tmp_path / "docs"
    for n, name in enumerate(HOSTILE_NAMES):
        write(docs / name, f"The zebra protocol number {n} uses striped packets.\n")
    data_dir = tmp_path / "data"
    report = Ingester(open_index(data_dir), lambda: fake_embedder).ingest([docs])
    assert report.added == len(HOSTILE_NAMES)
    monkeypatch.setattr(embed, "shared_embedder", lambda threads=None: fake_embedder)

    monkeypatch.setattr("sys.stdin", io.StringIO("zebra\nstriped\n"))  # one query a line
    assert cli.main(["--data-dir", str(data_dir), "search", "--json", "-k", "10", "-"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2 and out.count("\n") == 2
    for line in lines:
        assert not set("\x1b\x07\x85\u2028\u202e\r") & set(line)
        results = json.loads(line)["results"]
        assert sorted(r["source"] for r in results) == sorted(str(docs / name) for name in HOSTILE_NAMES)

    assert cli.main(["--data-dir", str(data_dir), "search", "-k", "10", "zebra"]) == 0
    out = capsys.readouterr().out
    assert not set("\x1b\x07\x85\u2028\u202e\r") & set(out)
    assert len(out.strip().splitlines()) == 1 + 2 * len(HOSTILE_NAMES)  # header, then 2 lines a result


@pytest.mark.parametrize("k", ["0", "-1", "99999999999999999999"])
def test_search_refuses_a_bad_k_in_one_line(k, capsys):
    assert cli.main(["search", "-k", k, "anything"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ragtui: -k must be between 1 and 1,000")
