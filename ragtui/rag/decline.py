"""A question that hinges on a name the documents never mention is declined, not answered.

"How do I store sessions in PostgreSQL?" over a user guide that never names PostgreSQL finds
passages about sessions, and a small model then writes SQL (QA Q33). A name in the question
that the whole index lacks, even within a typo of an indexed word, says the documents cannot
answer it. Only names count: a word with a capital inside it (PostgreSQL, MongoDB) or one
capitalised past the start of a sentence (Kubernetes, Emacs). An ordinary word that is
missing is more often a typo or a synonym, and declining on it would lose questions the
documents do answer.
"""
from __future__ import annotations

import re
from typing import Callable, Iterator

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]|\n)[\s\"'“‘(\[*_`]*$")


def names(question: str) -> Iterator[str]:
    """The words of `question` that look like names, each once, in order."""
    seen: set[str] = set()
    for match in _WORD.finditer(question):
        word = match.group()
        inner_capital = any(c.isupper() for c in word[1:])
        capitalised = word[0].isupper() and not _SENTENCE_START.search(question[:match.start()])
        if (inner_capital or capitalised) and word.lower() not in seen:
            seen.add(word.lower())
            yield word


def unknown_name(question: str, mentioned: Callable[[str], bool]) -> str | None:
    """The first name in `question` that `mentioned` (the index) does not know, if any."""
    return next((name for name in names(question) if not mentioned(name)), None)


def not_mentioned(name: str, *, evidence: bool) -> str:
    """The answer to a question on `name`; `evidence`: what comes closest is shown with it."""
    closest = " The evidence is the closest they come." if evidence else ""
    return f"The indexed documents do not mention {name}, so I can't answer that from them.{closest}"
