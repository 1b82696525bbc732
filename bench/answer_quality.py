"""Answer quality with the default model: ragtui beside a naive RAG prompt on raw llama-cpp-python.

Both get the same model (SmolLM2-135M-Instruct Q4_1 unless --model), the same settings and
the same retrieved passages; the naive side is what most local RAG tools do: a "use the
context" prompt, the model's chat template, and whatever comes out. Reported per system:

- gold: the answer contains a gold fact (bench/answer_questions.py), in the prose, in the
  evidence (ragtui only), or in either;
- invalid citations: answers citing an [n] with no passage n;
- invented turns: answers with a "Question:" / "User:" line of their own;
- copied: in a 10-question session (with history), answers whose word 4-grams come for at
  least half from one earlier answer;
- declined: out-of-corpus questions answered with a refusal.

In-corpus figures are given for the tuning half and the held-out halves separately, per
corpus: the user guide, the Python reference topics, and the manual pages of this machine.

    flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/answer_quality.py
    .venv/bin/python bench/answer_quality.py --report-only   # figures from the answers so far
    .venv/bin/python bench/answer_quality.py --evidence-only --groups tuning  # no model: seconds

`--evidence-only` runs retrieval and evidence extraction alone (what ragtui shows before the
model writes a word), for quick iteration on the tuning questions.

The indexes (user guide; Python reference topics; man pages, rendered as
bench/rag_quality.py does) are built once under --work-dir, where every answer is also
written as it comes (answers.jsonl).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_questions import (GUIDE, HELD_OUT_14, HELD_OUT_15, MAN, NEAR_DOMAIN, NEW_HELD_OUT,  # noqa: E402
                              OUT_OF_CORPUS, PYTHON, SESSION, TUNING_15, halves)
from rag_quality import render_man_pages  # noqa: E402

from ragtui.config import load_settings  # noqa: E402
from ragtui.rag.chat import CORPUS_DIR, MIN_SIMILARITY, TINY_MODEL_MAX_TOKENS, ChatService, _is_tiny  # noqa: E402
from ragtui.rag.evidence import extract, shown  # noqa: E402
from ragtui.rag.prompt import NOTHING_FOUND  # noqa: E402
from ragtui.sessions import open_store  # noqa: E402

NAIVE_SYSTEM = "You are a helpful assistant. Answer the question using the context. Cite sources as [n]."
INVENTED_TURN = re.compile(r"(?:^|\n)[ \t*#>]*(?:question|user|q|human)[ \t]*\d*[ \t*]*:", re.IGNORECASE)
CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
DECLINE = re.compile(
    r"found nothing relevant|(?:do|does) not (?:cover|contain|mention|say)|don't (?:know|have)|"
    r"no information|not (?:mentioned|covered|provided)|cannot answer|can't answer|unable to answer",
    re.IGNORECASE)
COPY_SHARE = 0.5


def normal(text: str) -> str:
    return " ".join(re.sub(r"[\"*`'’]", "", text.lower()).split())


def has_gold(text: str, gold: list[str]) -> bool:
    text = normal(text)
    return any(normal(g) in text for g in gold)


def invalid_citations(text: str, available: int) -> int:
    numbers = [int(n) for group in CITATION.findall(text) for n in re.findall(r"\d+", group)]
    return sum(not 1 <= n <= available for n in numbers)


def copied(answer: str, earlier: list[str]) -> bool:
    def grams(text):
        words = normal(text).split()
        return {tuple(words[i:i + 4]) for i in range(len(words) - 3)}

    mine = grams(answer)
    return bool(mine) and any(len(mine & grams(e)) >= COPY_SHARE * len(mine) for e in earlier if grams(e))


class Naive:
    """Raw llama-cpp-python: the model's own chat template, a plain context prompt."""

    def __init__(self, model_path: str, n_ctx: int, threads: int, max_tokens: int):
        from llama_cpp import Llama

        self.llm = Llama(model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
        self.max_tokens = max_tokens
        self.history: list[dict] = []

    def ask(self, question: str, passages: list[str], *, keep_history: bool = False) -> str:
        context = "\n\n".join(f"[{i}] {text}" for i, text in enumerate(passages, start=1))
        user = {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"}
        history = self.history if keep_history else []  # only the session's questions have one
        messages = [{"role": "system", "content": NAIVE_SYSTEM}, *history, user]
        while keep_history and len(self.history) > 2 and self._tokens(messages) > self.llm.n_ctx() - self.max_tokens:
            self.history = self.history[2:]
            messages = [{"role": "system", "content": NAIVE_SYSTEM}, *self.history, user]
        out = self.llm.create_chat_completion(messages, max_tokens=self.max_tokens, temperature=0.0,
                                              top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)
        text = out["choices"][0]["message"]["content"] or ""
        if keep_history:
            self.history += [user, {"role": "assistant", "content": text}]
        return text

    def _tokens(self, messages) -> int:
        return len(self.llm.tokenize(json.dumps(messages).encode()))


def corpus_service(work_dir: Path, name: str, threads: int, *, model: bool = True) -> ChatService:
    data_dir = work_dir / name
    settings = load_settings({"data_dir": str(data_dir), "store": "memory", "threads": threads})
    service = ChatService(open_store("memory"), settings, corpus_dir=CORPUS_DIR if name == "guide" else None)
    if name != "guide":
        from ragtui.rag.embed import shared_embedder
        from ragtui.rag.ingest import Ingester
        from ragtui.rag.retriever import open_index

        index = open_index(data_dir)
        if index.chunk_count() == 0:
            print(f"indexing the {name} corpus…", file=sys.stderr)
            paths = [render_man_pages(work_dir / "man-pages-text")] if name == "man" else []
            Ingester(index, lambda: shared_embedder(threads)).ingest(paths, python_docs=name == "python")
    say = lambda step: print(f"[{name}] {step}", file=sys.stderr)  # noqa: E731
    if model:
        service.load(progress=say)
    else:
        service._retriever = service._load_retriever(say)
    return service


def raw_passages(service: ChatService, question: str) -> list[str]:
    """What the naive side is given: the same search, without ragtui's relevance floor."""
    hits = service._retriever.search(question, k=service.settings.top_k, mode=service.settings.search_mode)
    return [h.text for h in hits]


def ragtui_row(service: ChatService, session_id: str | None, question: str, gold: list[str] | None,
               *, history: bool = False) -> dict:
    sid = session_id or service.store.create_session("bench")
    started = time.perf_counter()
    answer = service.ask(sid, question, use_history=history)
    evidence = " ".join(e.text for e in answer.evidence)
    return {
        "question": question, "answer": answer.text, "evidence": evidence,
        "passages": [c.text for c in answer.sources], "seconds": time.perf_counter() - started,
        "declined": answer.text == NOTHING_FOUND or bool(DECLINE.search(answer.text)),
        "gold_prose": has_gold(answer.text, gold) if gold else None,
        "gold_evidence": has_gold(evidence, gold) if gold else None,
        "invalid_citations": invalid_citations(answer.text, len(answer.sources)),
        "invented_turn": bool(INVENTED_TURN.search(answer.text)),
        "truncated": answer.truncated,
    }


def evidence_row(service: ChatService, question: str, gold: list[str] | None) -> dict:
    """Retrieval and evidence as ChatService.ask does them, without the model."""
    started = time.perf_counter()
    hits = service._retriever.search(question, k=service.settings.top_k, mode=service.settings.search_mode)
    passages = [dataclasses.replace(h, n=n)
                for n, h in enumerate((h for h in hits if h.similarity >= MIN_SIMILARITY), start=1)]
    embedder = service._retriever.embedder
    evidence = shown(extract(question, passages, embedder.embed_query, embed_many=embedder.embed))
    text = " ".join(e.text for e in evidence)
    return {
        "question": question, "answer": "", "evidence": text, "evidence_list": [e.text for e in evidence],
        "passages": [p.text for p in passages], "seconds": time.perf_counter() - started,
        "declined": not passages, "gold_prose": False if gold else None,
        "gold_evidence": has_gold(text, gold) if gold else None,
        "invalid_citations": 0, "invented_turn": False, "truncated": False,
    }


def naive_row(naive: Naive, question: str, passages: list[str], gold: list[str] | None, *, history=False) -> dict:
    started = time.perf_counter()
    text = naive.ask(question, passages, keep_history=history)
    return {
        "question": question, "answer": text, "seconds": time.perf_counter() - started,
        "declined": bool(DECLINE.search(text)),
        "gold_prose": has_gold(text, gold) if gold else None,
        "gold_evidence": None,
        "invalid_citations": invalid_citations(text, len(passages)),
        "invented_turn": bool(INVENTED_TURN.search(text)),
        "truncated": False,
    }


def summary(rows: list[dict]) -> dict:
    n = len(rows) or 1
    gold = [r for r in rows if r["gold_prose"] is not None]
    out = {"n": len(rows),
           "invalid_citation_answers": sum(r["invalid_citations"] > 0 for r in rows),
           "invented_turns": sum(r["invented_turn"] for r in rows),
           "seconds_per_answer": round(sum(r["seconds"] for r in rows) / n, 2)}
    if gold:
        out["gold_in_prose"] = round(sum(r["gold_prose"] for r in gold) / len(gold), 3)
        if gold[0]["gold_evidence"] is not None:
            out["gold_in_evidence"] = round(sum(r["gold_evidence"] for r in gold) / len(gold), 3)
            out["gold_in_either"] = round(sum(r["gold_prose"] or r["gold_evidence"] for r in gold) / len(gold), 3)
    return out


def make_report(rows: list[dict]) -> dict:
    """Per system and group; `rows` as written to the answers file (partial runs too)."""
    report: dict = {}
    for row in rows:
        report.setdefault(row["system"], {}).setdefault(row["group"], []).append(row)
    for system, groups in report.items():
        for label, group in groups.items():
            figures = summary(group)
            if label.startswith("out of corpus"):
                figures["declined"] = round(sum(r["declined"] for r in group) / len(group), 3)
            if label == "session":
                answers = [r["answer"] for r in group]
                figures["copied_answers"] = sum(copied(a, answers[:i]) for i, a in enumerate(answers))
            groups[label] = figures
        groups["totals"] = totals([r for r in rows if r["system"] == system])
    return report


def totals(rows: list[dict]) -> dict:
    """Gold in either prose or evidence, summed over groups: the tuning ones, the held-out
    ones, and per corpus (the session is on the guide)."""
    kinds = {"tuning": lambda g: "tuning" in g, "held-out": lambda g: "held-out" in g,
             "guide+session": lambda g: g.startswith(("guide", "session")),
             "python": lambda g: g.startswith("python"), "man": lambda g: g.startswith("man"),
             "all": lambda g: True}
    gold = [r for r in rows if r["gold_prose"] is not None]
    out = {}
    for kind, member in kinds.items():
        picked = [r for r in gold if member(r["group"])]
        if picked:
            hits = sum(bool(r["gold_prose"] or r["gold_evidence"]) for r in picked)
            out[kind] = f"{hits}/{len(picked)} = {hits / len(picked):.1%}"
    return out


def code_version() -> str:
    """The commit measured, and whether the shared working tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if git("status", "--porcelain", "-uno") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "ragtui-answer-bench")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-naive", action="store_true", help="ragtui only")
    parser.add_argument("--report-only", action="store_true", help="summarise the answers file of a (partial) run")
    parser.add_argument("--evidence-only", action="store_true", help="no model: retrieval and evidence alone")
    parser.add_argument("--groups", default="", help="run only the groups whose name contains one of these "
                        "comma-separated words (e.g. 'tuning,session')")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    code = code_version()
    print(f"code at {code}", file=sys.stderr)
    answers_file = args.work_dir / "answers.jsonl"  # one line per answer, written as it comes
    if args.report_only:
        print(json.dumps(make_report([json.loads(line) for line in answers_file.open()]), indent=1))
        return

    use_model = not args.evidence_only
    services = {name: corpus_service(args.work_dir, name, args.threads, model=use_model)
                for name in ("guide", "python", "man")}
    guide = services["guide"]
    info = guide.model_info
    # The same token limit ragtui applies to this model (160 for a tiny one), so both write as much.
    max_tokens = min(guide.settings.max_tokens, TINY_MODEL_MAX_TOKENS if use_model and _is_tiny(guide._model) else 10**9)
    naive = None if args.no_naive or not use_model else Naive(info["path"], info["n_ctx"], args.threads, max_tokens)
    rows: list[dict] = []
    out = (args.work_dir / "evidence.jsonl" if args.evidence_only else answers_file).open("w")
    wanted = [w for w in args.groups.split(",") if w]

    def chosen(group: str) -> bool:
        return not wanted or any(w in group for w in wanted)

    def keep(system: str, group: str, row: dict) -> None:
        row.update(system=system, group=group)
        rows.append(row)
        out.write(json.dumps(row) + "\n")
        out.flush()

    # Every question as (group, service, question, gold); the session's share one history.
    plan = [("out of corpus", guide, q, None) for q in OUT_OF_CORPUS]
    plan += [("out of corpus (near domain)", guide, q, None) for q in NEAR_DOMAIN]
    plan += [("session", guide, q, gold) for q, gold in SESSION]
    for corpus, questions in (("guide", GUIDE), ("python", PYTHON)):
        tuning, held_out = halves(questions)
        plan += [(f"{corpus} tuning", services[corpus], q, gold) for q, gold in tuning]
        plan += [(f"{corpus} held-out", services[corpus], q, gold) for q, gold in held_out]
        plan += [(f"{corpus} new held-out", services[corpus], q, gold) for q, gold in NEW_HELD_OUT[corpus]]
    plan += [("man tuning", services["man"], q, gold) for q, gold in MAN]
    plan += [(f"{corpus} tuning 15", services[corpus], q, gold) for corpus, questions in TUNING_15.items()
             for q, gold in questions]
    for label, held_out in (("14", HELD_OUT_14), ("15", HELD_OUT_15)):
        for corpus, questions in held_out.items():
            plan += [(f"{corpus} held-out {label}", services[corpus], q, gold) for q, gold in questions]
    plan += [("out of corpus (python index)", services["python"], q, None) for q in OUT_OF_CORPUS[::2]]
    plan = [step for step in plan if chosen(step[0])]

    # ragtui answers everything first, then the naive side (the slower one): a run stopped
    # early still has every ragtui figure.
    session_id = guide.store.create_session("bench")
    for group, service, question, gold in plan:
        if args.evidence_only:
            keep("ragtui", group, evidence_row(service, question, gold))
            continue
        in_session = group == "session"
        mine = ragtui_row(service, session_id if in_session else None, question, gold, history=in_session)
        keep("ragtui", group, mine)
        print(f"{group}: {question} -> {mine['answer'][:70]!r}", file=sys.stderr)
    for group, service, question, gold in plan if naive else ():
        keep("naive", group, naive_row(naive, question, raw_passages(service, question), gold,
                                       history=group == "session"))
    out.close()
    print(json.dumps({"code": code, "model": info.get("name", "none (evidence only)"), "max_tokens": max_tokens,
                      **make_report(rows)}, indent=1))


if __name__ == "__main__":
    main()
