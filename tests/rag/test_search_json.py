"""`ragtui search` takes its words as one query (or one query a line from stdin), and `--json`
prints the Sources search returns, in their one serialisation, with the field names scripts read."""
from __future__ import annotations

import io
import json

import pytest

from ragtui import cli
from ragtui.rag import embed
from ragtui.rag.ingest import Ingester
from ragtui.rag.retriever import Retriever, open_index
from ragtui.source import Source


@pytest.fixture
def data_dir(tmp_path, fake_embedder, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.md").write_text("# Kettle\n\nA kettle boils water for tea.\n")
    (docs / "teapot.md").write_text("# Teapot\n\nA teapot steeps the tea the kettle boiled.\n")
    data_dir = tmp_path / "data"
    Ingester(open_index(data_dir), lambda: fake_embedder).ingest([docs])
    monkeypatch.setattr(embed, "shared_embedder", lambda threads=None: fake_embedder)
    return data_dir


def test_search_json_is_the_sources_search_returns(data_dir, fake_embedder, capsys):
    assert cli.main(["--data-dir", str(data_dir), "search", "--json", "-k", "2", "kettle", "boils", "water"]) == 0
    line = json.loads(capsys.readouterr().out)  # the words are one query, as `ask` takes them
    assert line["query"] == "kettle boils water"
    results = line["results"]
    assert all({"source", "title", "location", "score", "text"} <= set(r) for r in results)  # as before Source
    assert [r["n"] for r in results] == [1, 2]  # numbered by rank
    expected = Retriever(open_index(data_dir), fake_embedder).search("kettle boils water", k=2)
    assert [Source.from_dict(r) for r in results] == expected
    assert expected[0].source.endswith("kettle.md") and expected[0].similarity > expected[1].similarity


def test_search_reads_one_query_a_line_from_stdin_and_refuses_an_empty_one(data_dir, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("kettle\n\n  tea water  \n"))
    assert cli.main(["--data-dir", str(data_dir), "search", "--json", "-"]) == 0
    assert [json.loads(line)["query"] for line in capsys.readouterr().out.splitlines()] == ["kettle", "tea water"]
    assert cli.main(["--data-dir", str(data_dir), "search", " "]) == 2
    assert capsys.readouterr().err.strip() == "ragtui: the query is empty"
