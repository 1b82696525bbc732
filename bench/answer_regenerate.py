"""Regenerate (ctrl+r) with the default model: does asking again bring a new answer, and is it
as trustworthy as the first?

Each user-guide question of bench/answer_questions.py (GUIDE) is asked once, then asked
again right after itself twice, in one session, as ctrl+r does. Reported for the first
answers and the regenerated ones: distinct from every earlier answer to the question,
"the model gave the same answer again", gold fact in the prose / in the evidence, answers
citing a missing passage, invented turns.

    flock /tmp/ragtui-bench.lock nice -n 5 .venv/bin/python bench/answer_regenerate.py --work-dir DIR
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_quality import INVENTED_TURN, corpus_service, has_gold, invalid_citations  # noqa: E402
from answer_questions import GUIDE  # noqa: E402

from ragtui.rag.chat import SAME_AGAIN  # noqa: E402

REGENERATIONS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "ragtui-answer-bench")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    service = corpus_service(args.work_dir, "guide", args.threads)
    rows: dict[str, list[dict]] = {"first": [], "regenerated": []}
    for question, gold in GUIDE:
        session_id = service.store.create_session("bench")
        earlier: list[str] = []
        for attempt in range(1 + REGENERATIONS):
            answer = service.ask(session_id, question)
            evidence = " ".join(e.text for e in answer.evidence)
            rows["regenerated" if attempt else "first"].append({
                "new": answer.text not in earlier, "same_again": answer.text.endswith(SAME_AGAIN),
                "gold_prose": has_gold(answer.text, gold), "gold_evidence": has_gold(evidence, gold),
                "invalid_citations": invalid_citations(answer.text, len(answer.sources)) > 0,
                "invented_turn": bool(INVENTED_TURN.search(answer.text)),
            })
            earlier.append(answer.text)
            print(f"{question[:40]} #{attempt}: {answer.text[:80]!r}", file=sys.stderr)
    print(json.dumps({kind: {"n": len(group), **{key: sum(r[key] for r in group) for key in group[0]}}
                      for kind, group in rows.items()}, indent=1))


if __name__ == "__main__":
    main()
