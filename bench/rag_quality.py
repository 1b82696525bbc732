"""Retrieval quality on three corpora: recall@1, recall@5 and MRR@10 of ragtui's hybrid, vector
and full-text search, beside the naive pipeline most local RAG tools ship (fixed 150-word
chunks of the raw text, all-MiniLM-L6-v2, LanceDB hybrid search with its RRF reranker).

Corpora and questions (bench/eval/<corpus>.jsonl: question, gold document, split):
  python-reference  the 79 topics of the Python language reference (pydoc_data.topics)
  user-guide        ragtui's own user guide, data/*.md
  man-pages         130 manual pages of this machine (bench/eval/man-pages.txt), rendered to text

Each set was split once, before any tuning, by a fixed rule: every second question is held
out ("held-out"), the others are for tuning ("tuning"). Only tuning questions are ever listed
one by one (--misses); held-out ones only count in the totals.

A hit is relevant when it comes from the gold document; for the Python reference also when its
text is part of the gold topic (the reference repeats some topics inside bigger ones).

    HF_HUB_OFFLINE=1 flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/rag_quality.py
    … --cache /tmp/h1-eval      keep the indexes between runs (ragtui's is brought up to date,
                                and rebuilt when its layout changed); --corpus NAME to pick one
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(__file__).resolve().parent / "eval"
sys.path.insert(0, str(ROOT))

from ragtui.rag.embed import shared_embedder  # noqa: E402
from ragtui.rag.index import Index  # noqa: E402
from ragtui.rag.ingest import PYTHON_DOCS_PREFIX, Ingester  # noqa: E402

K = 10
NAIVE_WORDS = 150
CORPORA = ("python-reference", "user-guide", "man-pages")
MODES = ("hybrid", "vector", "fts")


# -- corpora --------------------------------------------------------------------------


def render_man_pages(folder: Path) -> Path:
    """Each page of the list as plain text, <page>.txt, as `man` shows it 80 columns wide."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": ""}
    for page in (EVAL / "man-pages.txt").read_text().split():
        target = folder / f"{page}.txt"
        if not target.exists():
            shown = subprocess.run(["man", "-P", "cat", page], env=env, capture_output=True, check=True).stdout
            plain = subprocess.run(["col", "-bx"], input=shown, capture_output=True, check=True).stdout
            target.write_bytes(plain)
    return folder


def corpus_documents(name: str, work: Path) -> tuple[dict[str, str], list[Path], bool]:
    """({document id: raw text}, paths to ingest, whether to add the Python reference)."""
    if name == "python-reference":
        from pydoc_data.topics import topics

        return dict(topics), [], True
    folder = ROOT / "data" if name == "user-guide" else render_man_pages(work / "man-pages-text")
    files = sorted(p for p in folder.iterdir() if p.suffix in {".md", ".txt"})
    return {p.stem: p.read_text(encoding="utf-8") for p in files}, [folder], False


def document_id(source: str) -> str:
    return source.removeprefix(PYTHON_DOCS_PREFIX) if source.startswith(PYTHON_DOCS_PREFIX) else Path(source).stem


def questions(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVAL / f"{name}.jsonl").read_text().splitlines() if line.strip()]


# -- scoring --------------------------------------------------------------------------


def relevance(corpus: str, texts: dict[str, str]):
    flat = {doc: " ".join(text.split()) for doc, text in texts.items()}

    def relevant(doc: str, text: str, gold: str) -> bool:
        if doc == gold:
            return True
        if corpus != "python-reference":
            return False
        normalized = " ".join(text.split())
        return len(normalized) > 80 and normalized in flat[gold]

    return relevant


def first_relevant(flags: list[bool]) -> int | None:
    return next((i for i, hit in enumerate(flags) if hit), None)


def scores(firsts: list[int | None]) -> dict[str, float]:
    n = len(firsts)
    return {
        "n": n,
        "recall@1": round(sum(f == 0 for f in firsts) / n, 3),
        "recall@5": round(sum(f is not None and f < 5 for f in firsts) / n, 3),
        "mrr@10": round(sum(1 / (f + 1) for f in firsts if f is not None) / n, 3),
    }


# -- the naive pipeline ---------------------------------------------------------------


def fingerprint(texts: dict[str, str]) -> str:
    """Names a cached naive table after the texts it holds: a corpus that changed (the user
    guide grows with the app) gets a new one."""
    return hashlib.sha256(json.dumps(sorted(texts.items())).encode()).hexdigest()[:12]


def naive_table(texts: dict[str, str], folder: Path, embedder):
    """150-word chunks of the raw text, embedded as they are, in a LanceDB table with the
    default full-text index: what a quick-start RAG tutorial builds."""
    import lancedb
    import pyarrow as pa

    db = lancedb.connect(str(folder))
    if "chunks" in db.list_tables().tables:
        return db.open_table("chunks")
    rows = []
    for doc, text in texts.items():
        words = text.split()
        rows += [(doc, " ".join(words[i:i + NAIVE_WORDS])) for i in range(0, len(words), NAIVE_WORDS)]
    vectors = embedder.embed([text for _, text in rows])
    table = db.create_table("chunks", pa.table({
        "doc": [d for d, _ in rows], "text": [t for _, t in rows],
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1]),
    }))
    from lancedb.index import FTS

    table.create_index("text", config=FTS())
    return table


def naive_search(table, question: str, vector) -> list[tuple[str, str]]:
    from lancedb.rerankers import RRFReranker

    rows = (table.search(query_type="hybrid").vector(vector).text(question).distance_type("cosine")
            .rerank(RRFReranker()).select(["doc", "text"]).limit(K).to_list())
    return [(r["doc"], r["text"]) for r in rows]


# -- the run --------------------------------------------------------------------------


def evaluate(corpus: str, work: Path, embedder, misses: bool) -> dict:
    texts, paths, python_docs = corpus_documents(corpus, work)
    relevant = relevance(corpus, texts)
    index = Index(work / corpus / "ragtui")
    started = time.perf_counter()
    report = Ingester(index, lambda: embedder).ingest(paths, python_docs=python_docs)
    ingest_s = time.perf_counter() - started
    naive = naive_table(texts, work / corpus / f"naive-{fingerprint(texts)}", embedder)

    firsts: dict[tuple[str, str], list] = {}
    for item in questions(corpus):
        question, gold, split = item["question"], item["gold"], item["split"]
        vector = embedder.embed_query(question)
        for mode in MODES:
            hits = index.search(question, vector, k=K, mode=mode)
            first = first_relevant([relevant(document_id(h.source), h.text, gold) for h in hits])
            firsts.setdefault((f"ragtui {mode}", split), []).append(first)
            if misses and split == "tuning" and mode == "hybrid" and first != 0:
                got = [document_id(h.source) for h in hits[:3]]
                print(f"  miss [{corpus}] rank {first if first is None else first + 1}: {question} "
                      f"(gold {gold}; got {got})", file=sys.stderr)
        found = naive_search(naive, question, vector)
        firsts.setdefault(("naive hybrid", split), []).append(
            first_relevant([relevant(doc, text, gold) for doc, text in found]))
    rows = {}
    for (method, split), values in sorted(firsts.items()):
        rows[f"{method}|{split}"] = scores(values)
    for method in {m for m, _ in firsts}:
        rows[f"{method}|all"] = scores(firsts[(method, "tuning")] + firsts[(method, "held-out")])
    return {"rows": rows, "documents": len(texts), "chunks": index.chunk_count(),
            "naive_chunks": naive.count_rows(), "ingest_s": round(ingest_s, 1), "added": report.added}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", choices=CORPORA, help="default: all three")
    parser.add_argument("--cache", type=Path, help="keep indexes here between runs")
    parser.add_argument("--misses", action="store_true", help="list hybrid misses among tuning questions")
    parser.add_argument("--split", choices=("tuning", "held-out", "all"), action="append",
                        help="splits to print (default: all three); while tuning, print tuning only")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = shared_embedder(os.cpu_count())
    work = args.cache or Path(tempfile.mkdtemp(prefix="ragtui-quality-"))
    results = {}
    try:
        for corpus in args.corpus or CORPORA:
            results[corpus] = evaluate(corpus, work, embedder, args.misses)
    finally:
        if args.cache is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'corpus':<17} {'split':<9} {'method':<14} {'n':>3} {'r@1':>6} {'r@5':>6} {'MRR@10':>7}")
    for corpus, result in results.items():
        for split in args.split or ("tuning", "held-out", "all"):
            for method in ("ragtui hybrid", "ragtui vector", "ragtui fts", "naive hybrid"):
                row = result["rows"][f"{method}|{split}"]
                print(f"{corpus:<17} {split:<9} {method:<14} {row['n']:>3} {row['recall@1']:>6.3f} "
                      f"{row['recall@5']:>6.3f} {row['mrr@10']:>7.3f}")
        print(f"{corpus:<17} {result['documents']} documents, ragtui {result['chunks']} chunks "
              f"(ingest {result['ingest_s']} s, {result['added']} added), naive {result['naive_chunks']} chunks")
    if not args.split:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
