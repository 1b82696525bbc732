"""Can the default language model rerank search results? Measured on the tuning halves of
bench/eval (bench/rag_quality.py's corpora, questions and relevance), never the held-out ones.

For each question, the best passage of each of the top --documents documents of ragtui's
hybrid search is scored by SmolLM2-135M-Instruct (llama-cpp-python, one forward pass per
passage, the passage cut to --chars characters):
  upr    mean log P(question tokens | "Passage: … Please write a question based on this
         passage. Question:"): zero-shot query likelihood (UPR, Sachan et al. 2022)
  yesno  log P(yes) − log P(no) after "Does the passage answer the question?" (chat template)
That score, times a weight, is added to the passage's hybrid score and those documents are
reordered; the rest of the list keeps its order. Printed: r@1 / MRR@10 per corpus for each
weight (0 = the search as it is) and the model's time per question.

    HF_HUB_OFFLINE=1 flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/rag_rerank.py \
        --cache DIR [--method upr|yesno] [--documents 5] [--threads 1]

--cache: rag_quality.py's index folder (kept up to date the same way); model scores are kept
in DIR/rerank-scores.json, so a second run with other weights costs no model time.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rag_quality as quality  # noqa: E402  (puts the project root on sys.path too)

from ragtui.rag.embed import shared_embedder  # noqa: E402
from ragtui.rag.index import Index  # noqa: E402
from ragtui.rag.ingest import Ingester  # noqa: E402
from ragtui.rag.models import default_model  # noqa: E402

WEIGHTS = (0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 100)
DEPTH = 30  # hits listed per question: the reordered documents and the rest behind them


class LanguageModelScorer:
    def __init__(self, method: str, chars: int, threads: int, cache: Path):
        import numpy as np
        from llama_cpp import Llama

        self.np, self.method, self.chars, self.cache_path = np, method, chars, cache
        self.cache = json.loads(cache.read_text()) if cache.exists() else {}
        self.llm = Llama(str(default_model().path), n_ctx=2048, n_batch=512, n_threads=threads,
                         n_threads_batch=threads, logits_all=True, verbose=False)
        first = lambda word: self.llm.tokenize(word.encode(), add_bos=False)[0]  # noqa: E731
        self.yes = [first(w) for w in ("yes", "Yes", " yes", " Yes")]
        self.no = [first(w) for w in ("no", "No", " no", " No")]
        self.computed = 0

    def score(self, title: str, passage: str, question: str) -> float:
        variant = "raw" if self.method == "upr" else "yesno"
        key = hashlib.sha1(json.dumps([variant, self.chars, title, passage, question]).encode()).hexdigest()
        if key not in self.cache:
            self.cache[key] = self._upr(passage, question) if self.method == "upr" else self._yesno(passage, question)
            self.computed += 1
        total, count, _ = self.cache[key]
        return total / count

    def _log_softmax_rows(self, first: int, last: int):
        np = self.np
        logits = np.asarray(self.llm.scores[first:last], dtype=np.float64)
        top = logits.max(axis=1, keepdims=True)
        return logits - (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))

    def _upr(self, passage: str, question: str) -> list:
        head = f"Passage: {passage[:self.chars]}\nPlease write a question based on this passage.\nQuestion:"
        prefix = self.llm.tokenize(head.encode(), add_bos=True, special=True)
        asked = self.llm.tokenize(f" {question}".encode(), add_bos=False, special=False)
        self.llm.reset()
        self.llm.eval(prefix + asked)
        rows = self._log_softmax_rows(len(prefix) - 1, len(prefix) + len(asked) - 1)
        return [float(rows[self.np.arange(len(asked)), asked].sum()), len(asked), len(prefix) + len(asked)]

    def _yesno(self, passage: str, question: str) -> list:
        prompt = (f"<|im_start|>user\nPassage: {passage[:self.chars]}\n\nQuestion: {question}\n\n"
                  "Does the passage answer the question? Answer yes or no.<|im_end|>\n<|im_start|>assistant\n")
        tokens = self.llm.tokenize(prompt.encode(), add_bos=True, special=True)
        self.llm.reset()
        self.llm.eval(tokens)
        last = self._log_softmax_rows(len(tokens) - 1, len(tokens))[0]
        return [float(max(last[t] for t in self.yes) - max(last[t] for t in self.no)), 1, len(tokens)]

    def save(self) -> None:
        self.cache_path.write_text(json.dumps(self.cache))


def best_passages(hits: list, documents: int) -> list:
    """The first (best) hit of each of the first `documents` documents."""
    best: dict[str, object] = {}
    for hit in hits:
        best.setdefault(quality.document_id(hit.source), hit)
        if len(best) == documents:
            break
    return list(best.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--method", choices=("upr", "yesno"), default="upr")
    parser.add_argument("--documents", type=int, default=5)
    parser.add_argument("--chars", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1: the machine is shared)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = shared_embedder(os.cpu_count())
    scorer = LanguageModelScorer(args.method, args.chars, args.threads, args.cache / "rerank-scores.json")
    per_question_s: list[float] = []
    ranked: dict[str, list] = {}  # corpus -> [(hits, {hit: model score}, relevance flags)]
    for corpus in quality.CORPORA:
        texts, paths, python_docs = quality.corpus_documents(corpus, args.cache)
        relevant = quality.relevance(corpus, texts)
        index = Index(args.cache / corpus / "ragtui")
        Ingester(index, lambda: embedder).ingest(paths, python_docs=python_docs)
        for item in quality.questions(corpus):
            if item["split"] != "tuning":
                continue
            question = item["question"]
            hits = index.search(question, embedder.embed_query(question), k=DEPTH, mode="hybrid")
            before, started = scorer.computed, time.perf_counter()
            model = {id(h): scorer.score(h.title, h.text, question) for h in best_passages(hits, args.documents)}
            if scorer.computed - before == len(model):  # all scored now, none from the cache
                per_question_s.append(time.perf_counter() - started)
            flags = {id(h): relevant(quality.document_id(h.source), h.text, item["gold"]) for h in hits}
            ranked.setdefault(corpus, []).append((hits, model, flags))
        scorer.save()
    print(f"{args.method}, top {args.documents} documents, passages cut to {args.chars} characters; "
          f"tuning halves, r@1 / MRR@10")
    for weight in WEIGHTS:
        cells = []
        for corpus, questions in ranked.items():
            firsts = []
            for hits, model, flags in questions:
                rescored = sorted((h for h in hits if id(h) in model),
                                  key=lambda h: -(h.score + weight * model[id(h)]))
                order = rescored + [h for h in hits if id(h) not in model]
                firsts.append(quality.first_relevant([flags[id(h)] for h in order][:quality.K]))
            row = quality.scores(firsts)
            cells.append(f"{corpus} {row['recall@1']:.3f} / {row['mrr@10']:.3f}")
        print(f"weight {weight:<5} " + "   ".join(cells))
    if per_question_s:
        print(f"model time per question: p50 {statistics.median(per_question_s):.2f} s "
              f"({len(per_question_s)} questions, {args.threads} thread(s))")


if __name__ == "__main__":
    main()
