"""`Source`: one passage of the documents, the same type from search to screen.

The retriever returns Sources, the prompt numbers and quotes them, an answer lists them
(marked cited, with the evidence sentences taken from them), the store keeps them as
`to_dict()` with the message, and the app, the CLI and exports read them back with
`from_dict`. It lives outside rag/ and sessions/ so that both, and the UI, may use it.
"""
from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any, Iterable, Mapping, Sequence

from .safe_text import one_line


@dataclass(frozen=True)
class Source:
    n: int  # its number in the answer ([n]); in search results, its rank
    source: str  # the document's path
    title: str  # the document's title › the passage's heading
    location: str  # where in the document ("chars 120-980", "line 40"); "" for the whole file
    text: str
    score: float = 0.0  # the fused relevance search ranked it by, higher is better
    _: KW_ONLY
    similarity: float = 0.0  # cosine between the question and the passage
    cited: bool = False  # the answer refers to it as [n]
    # Sentences of this passage shown as the answer's evidence: (rank, sentence) pairs,
    # rank 1 the best over all of the answer's sources.
    evidence: tuple[tuple[int, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The one serialisation: a message's stored sources, `ask --json`, `search --json`
        and exports. Field names are a public contract (docs/INTERFACES.md)."""
        return {
            "n": self.n, "source": self.source, "title": self.title, "location": self.location,
            "text": self.text, "score": self.score, "similarity": self.similarity,
            "cited": self.cited, "evidence": [[rank, sentence] for rank, sentence in self.evidence],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Source:
        """Reads what `to_dict` wrote and what earlier releases stored (no evidence, no
        similarity, no cited) or another program put there: a missing or mistyped field gets
        its default rather than failing a whole session."""
        evidence = tuple(
            (pair[0], pair[1]) for pair in _pairs(data.get("evidence"))
            if isinstance(pair, (list, tuple)) and len(pair) == 2
            and _is_int(pair[0]) and isinstance(pair[1], str)
        )
        return cls(
            data["n"] if _is_int(data.get("n")) else 0,
            _text(data.get("source")), _text(data.get("title")),
            _text(data.get("location")), _text(data.get("text")),
            _number(data.get("score")),
            similarity=_number(data.get("similarity")),
            cited=data.get("cited") is True,
            evidence=evidence,
        )

    @classmethod
    def from_dicts(cls, items: Iterable[Any]) -> list[Source]:
        """A stored message's sources; anything that is not a JSON object is skipped."""
        return [cls.from_dict(item) for item in items if isinstance(item, Mapping)]


def ranked_evidence(sources: Iterable[Source]) -> list[tuple[int, str]]:
    """The evidence sentences an answer's sources carry, as (n, sentence), best first."""
    found = [(rank, source.n, sentence) for source in sources for rank, sentence in source.evidence]
    return [(n, sentence) for _, n, sentence in sorted(found, key=lambda item: item[0])]


def shown_sources(sources: Sequence[Source]) -> tuple[list[Source], int]:
    """The sources worth listing under an answer — those it cited in its prose or its
    evidence, or all it was given when it cited none — and how many others it was given."""
    cited = [s for s in sources if s.cited or s.evidence]
    return (cited, len(sources) - len(cited)) if cited else (list(sources), 0)


def answer_notes(sources: Sequence[Source]) -> list[tuple[str, list[str]]]:
    """An answer's evidence and sources as lines of plain text, for `ragtui ask`, `sessions
    show` and Markdown exports: ("Evidence", quotes best first) and ("Sources", the passages
    the answer cited in its prose or its evidence, or all it was given when it cited none)."""
    sections = []
    evidence = ranked_evidence(sources)
    if evidence:
        sections.append(("Evidence", [f"[{n}] “{one_line(sentence)}”" for n, sentence in evidence]))
    shown, others = shown_sources(sources)
    lines = []
    for source in shown:
        where = f" ({one_line(source.location)})" if source.location.strip() else ""
        title = f"{one_line(source.title)} — " if source.title.strip() else ""
        lines.append(f"[{source.n}] {title}{one_line(source.source) or '?'}{where}")
    if others:
        lines.append(f"(and {others} more passages the answer did not cite)")
    if lines:
        sections.append(("Sources", lines))
    return sections


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _pairs(value: Any) -> list | tuple:
    return value if isinstance(value, (list, tuple)) else ()
