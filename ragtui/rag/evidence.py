"""Evidence: the one or two sentences of the retrieved passages that best answer a question.

Extracted, never generated, so an answer is useful even when a small model's prose is weak.
Every sentence of the passages is scored lexically (the question's words it contains, rare
words weighing more); the best few are embedded with the query encoder already loaded for
search, and the final score adds their cosine to the question. The best two are shown.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

MAX_SENTENCES = 2  # shown
EMBEDDED_CANDIDATES = 12  # lexical pre-selection: embedding every sentence costs ~5 ms each
LEXICAL_WEIGHT = 0.6
QUESTION_PENALTY = 1.0  # a sentence that asks ("for example 'how long do sessions last?'") answers nothing
MIN_WORDS = 4
MAX_CHARS = 400

Embed = Callable[[str], Any]  # text -> normalised numpy vector (Embedder.embed_query)


@dataclass(frozen=True)
class Evidence:
    n: int  # the passage it was taken from, as numbered in the prompt
    text: str
    score: float


_STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its me my of on or "
    "so that the their then there these this to was what when where which who why will with you "
    "your yours should would could".split()
)
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+.\-]*[A-Za-z0-9_]|[A-Za-z0-9]")
# A sentence ends at . ! ? followed by a space and a capital, quote or bracket; lists,
# headings and table rows end at their line.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[*])")
_MARKUP = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|>\s*)")


def words(text: str) -> list[str]:
    """Stemmed, lower-case words; an identifier also gives its parts ("__enter__()" gives
    "enter", "dict.setdefault" "setdefault") so a question's plain words meet code names."""
    found = []
    for token in _WORD.findall(text):
        token = token.lower()
        found.append(_stem(token))
        parts = [part for part in re.split(r"[._\-]+", token) if part]
        if len(parts) > 1 or parts and parts[0] != token:
            found.extend(_stem(part) for part in parts)
    return found


def _stem(word: str) -> str:
    """Plural and verb endings off, so 'sessions' meets 'session' and 'continues' 'continue'."""
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def sentences(text: str) -> list[str]:
    """Sentences worth quoting: prose, list items and table rows; no headings, no code.

    A sentence that leads in with a colon ("index them first:") is quoted with what follows
    it, be it a sentence, a list item or the first line of a code block."""
    found: list[str] = []
    paragraph: list[str] = []
    in_code = code_started = False

    def add(unit: str) -> None:
        unit = unit.strip()
        if unit and found and found[-1].endswith(":"):
            found.append(f"{found[-1]} {unit}")
        elif unit:
            found.append(unit)

    def flush() -> None:
        for sentence in _SENTENCE_END.split(" ".join(paragraph)) if paragraph else ():
            add(sentence)
        paragraph.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            in_code, code_started = not in_code, False
            continue
        if in_code:
            if not code_started and stripped and found and found[-1].endswith(":"):
                add(stripped)
            code_started = code_started or bool(stripped)
            continue
        if not stripped or stripped.startswith("#") or set(stripped) <= set("|-: "):
            flush()
            continue
        if stripped.startswith("|"):
            flush()  # a table row stands alone
            add(stripped.strip("|").strip())
            continue
        if _MARKUP.match(line):
            flush()  # a list item starts afresh; its wrapped lines follow
            stripped = _MARKUP.sub("", line).strip()
        paragraph.append(stripped)
    flush()
    return [s[:MAX_CHARS] for s in found if len(_WORD.findall(s)) >= MIN_WORDS and not s.endswith(":")]


def extract(question: str, passages: Sequence, embed: Embed | None, *,
            limit: int = MAX_SENTENCES) -> list[Evidence]:
    """The best `limit` sentences of `passages` (objects with .n and .text), best first."""
    asked = [w for w in words(question) if w not in _STOP_WORDS]
    candidates, seen = [], set()
    for rank, passage in enumerate(passages):
        for sentence in sentences(passage.text):
            key = " ".join(words(sentence))
            if key not in seen:  # passages overlap: a sentence is quoted once, from the best one
                seen.add(key)
                candidates.append((passage.n, rank, sentence))
    headings = {p.n: _heading(getattr(p, "title", "")) for p in passages}
    if not candidates or not asked:
        return []
    # Rare words say more: a word in every sentence ("ragtui") counts little.
    sentence_words = [set(words(s)) for _, _, s in candidates]
    weight = {w: math.log(1 + len(candidates) / (1 + sum(w in ws for ws in sentence_words))) for w in set(asked)}
    total = sum(weight.values()) or 1.0
    lexical = [sum(weight[w] for w in set(asked) if w in ws) / total for ws in sentence_words]
    # Earlier passages ranked higher in retrieval: a small tie-breaker.
    prior = [lexical[i] - 0.01 * rank for i, (_, rank, _) in enumerate(candidates)]
    shortlist = sorted(range(len(candidates)), key=lambda i: -prior[i])[:EMBEDDED_CANDIDATES]
    scored = []
    query = embed(question) if embed else None
    for i in shortlist:
        n, rank, text = candidates[i]
        # Embedded under its heading: "It is flushed on every turn" says more under "local".
        in_context = f"{headings[n]}: {text}" if headings[n] else text
        similarity = float(query @ embed(in_context)) if query is not None else 0.0
        penalty = QUESTION_PENALTY if "?" in text else 0.0
        scored.append(Evidence(n, text, similarity + LEXICAL_WEIGHT * lexical[i] - 0.01 * rank - penalty))
    scored.sort(key=lambda e: -e.score)
    return scored[:limit]


def _heading(title: str) -> str:
    """The innermost heading of a passage title such as "Guide › Install › Linux"."""
    return title.rsplit("›", 1)[-1].strip()


def shown(evidence: Sequence[Evidence], limit: int = MAX_SENTENCES) -> list[Evidence]:
    """What an answer shows: the best two sentences. Showing the second only when it scored
    within 0.15 of the best missed the answer twice in 23 tuning questions (guide 8/13 ->
    9/13, Python reference 5/10 -> 6/10 with both shown)."""
    return list(evidence[:limit])


def from_sources(sources: Sequence[dict]) -> list[Evidence]:
    """The evidence stored with a message (its `sources`), in the order it was chosen.

    Messages stored before evidence existed have none: an empty list."""
    found = []
    for source in sources:
        for rank, text in source.get("evidence") or ():
            found.append((rank, Evidence(int(source.get("n", 0)), str(text), 0.0)))
    return [e for _, e in sorted(found, key=lambda pair: pair[0])]
