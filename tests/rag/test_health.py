"""`ragtui doctor` on the RAG side: what it says about the index before the first search."""
from __future__ import annotations

import json

from ragtui import cli, paths
from ragtui.rag.index import OLDER_VECTORS, Index
from ragtui.rag.ingest import Ingester


def doctor(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["--store", "local", "doctor", *args])
    return code, capsys.readouterr().out


def index_line(out: str) -> str:
    return next(line for line in out.splitlines() if line[2:].startswith("index"))


def test_doctor_warns_of_an_index_that_its_first_search_rebuilds(capsys, private_data_dir, tmp_path, fake_embedder):
    """QA Q36: an index whose manifest records older vectors was ✓, then the first search
    or app start re-embedded every chunk (minutes for a big corpus) without warning."""
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.md").write_text(f"# {name}\n\nThe {name} passage.\n", encoding="utf-8")
    index = Index(paths.index_dir(private_data_dir))
    Ingester(index, lambda: fake_embedder).ingest([tmp_path / f"{name}.md" for name in "abc"])
    manifest = index.directory / "manifest.json"
    saved = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**saved, "vectors": OLDER_VECTORS}))  # as every index before int8 vectors

    code, out = doctor(capsys)
    line = index_line(out)
    assert line.startswith("⚠ index") and "3 documents, 3 chunks" in line, line
    assert "made by an older ragtui: rebuilt from its documents on first use (3 chunks)" in line
    assert "`ragtui search WORD`" in line
    assert code == 0, out  # a warning: the index works, nothing else is wrong
    code, out = doctor(capsys, "--json")
    check = next(c for c in json.loads(out)["checks"] if c["name"] == "index")
    assert (check["ok"], check["warning"]) == (True, True)

    Ingester(Index(index.directory), lambda: fake_embedder).ingest([])  # what the first search does
    line = index_line(doctor(capsys)[1])
    assert line.startswith("✓ index") and "older" not in line, line
    check = next(c for c in json.loads(doctor(capsys, "--json")[1])["checks"] if c["name"] == "index")
    assert (check["ok"], check["warning"]) == (True, False)
