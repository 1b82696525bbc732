"""What a reader sees wrong in ragtui's prose, from the answers files of bench/answer_quality.py.

Per answers file (ragtui's rows only), over the answers the model wrote (declines aside):

- dangling: the answer ends on a list marker ("1.") or a lead-in ("Here's how:");
- invented code: it holds code (`inline` or a fenced block) with a word that is in none of
  the passages it was given (a made-up tool, package or script);
- evidence quoted: the model's text was unusable and the best evidence sentence is the answer;
- leaked topic (session only): a word of an earlier question that is in neither this
  question nor this answer's passages, yet in the answer.

    .venv/bin/python bench/answer_prose.py BEFORE/answers.jsonl AFTER/answers.jsonl
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
DANGLING = re.compile(r"(?:(?:^|\n)[ \t]*(?:\d{1,3}\.|[-*•])|:)\s*$")
WORD = re.compile(r"\w{2,}")
TOPIC_WORD = re.compile(r"[a-z][a-z0-9_-]{4,}")
COMMON = {"about", "which", "where", "there", "their", "these", "those", "would", "could", "should",
          "session", "sessions", "ragtui", "answer", "answers", "question", "questions"}


def code_words(code: str) -> set[str]:
    if code.startswith("```"):
        code = code[3:].partition("\n")[2]  # without the language name
    return set(WORD.findall(code.lower()))


def invented_code(answer: str, passages: list[str]) -> bool:
    known = set(WORD.findall(" ".join(passages).lower()))
    return any(not code_words(c) <= known for c in CODE.findall(answer))


def leaked(answer: str, question: str, passages: list[str], earlier: list[str]) -> list[str]:
    here = (question + " " + " ".join(passages)).lower()
    words = {w for q in earlier for w in TOPIC_WORD.findall(q.lower())} - COMMON
    return sorted(w for w in words if w not in here and re.search(rf"\b{re.escape(w)}\b", answer.lower()))


def figures(path: Path) -> dict:
    rows = [r for r in map(json.loads, path.open()) if r["system"] == "ragtui"]
    written = [r for r in rows if not r["declined"]]
    session = [r for r in rows if r["group"] == "session"]
    leaks = [leaked(r["answer"], r["question"], r["passages"], [e["question"] for e in session[:i]])
             for i, r in enumerate(session)]
    return {
        "answers written": len(written),
        "dangling end": sum(bool(DANGLING.search(r["answer"].removesuffix(")").rstrip())) for r in written),
        "invented code": sum(invented_code(r["answer"], r["passages"]) for r in written),
        "evidence quoted as the answer": sum("From the documents:" in r["answer"] for r in written),
        "session answers with a leaked topic": sum(bool(w) for w in leaks),
        "leaked words": sorted({w for ws in leaks for w in ws}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("answers", nargs="+", type=Path, help="answers.jsonl files, side by side")
    args = parser.parse_args()
    print(json.dumps({str(path): figures(path) for path in args.answers}, indent=1))


if __name__ == "__main__":
    main()
