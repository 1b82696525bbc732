"""A question that hinges on a name the documents never mention is not given to the model.

"How do I store sessions in PostgreSQL?" over a user guide that never names PostgreSQL finds
passages about sessions, and a small model then writes SQL (QA Q33). A name in the question
that the whole index lacks, even within a typo of an indexed word, says the documents cannot
answer it: the answer says so and shows the evidence closest to the question.

Only names count: a word with a capital inside it (PostgreSQL, MongoDB) or capitalised past
the start of a sentence (Kubernetes, French); not the asker's own things ("my Obsidian
vault") nor a file name ("Thesis.txt"). An ordinary word that is missing is more often a typo
or a synonym, and declining on it would lose questions the documents answer. A name that is
only context ("follow a log file on Ubuntu") gets the same line, and the evidence found for
the question without it (the tail -f line), so nothing the documents say is lost.
"""
from __future__ import annotations

import re
from typing import Callable, Iterator

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]|\n)[\s\"'“‘(\[*_`]*$")
_OWN = re.compile(r"\b(?:my|our|your)\s+$", re.IGNORECASE)
_FILE_NAME_END = re.compile(r"\.\w")


def names(question: str) -> Iterator[str]:
    """The names in `question`, each once, in order."""
    seen: set[str] = set()
    for match in _WORD.finditer(question):
        word, before = match.group(), question[:match.start()]
        inner_capital = any(c.isupper() for c in word[1:])
        capitalised = word[0].isupper() and not _SENTENCE_START.search(before)
        context = _OWN.search(before) or _FILE_NAME_END.match(question, match.end())
        if (inner_capital or capitalised) and not context and word.lower() not in seen:
            seen.add(word.lower())
            yield word


def unknown_name(question: str, mentioned: Callable[[str], bool]) -> str | None:
    """The first name in `question` that `mentioned` (the index) does not know, if any."""
    return next((name for name in names(question) if not mentioned(name)), None)


def without(question: str, name: str) -> str:
    """`question` without `name` and the preposition or article before it: what to search
    the documents with for the rest of it."""
    return " ".join(re.sub(rf"(?:\b(?:on|in|into|inside|with|to|for|from|using|via|a|an|the)\s+)*\b{re.escape(name)}\b",
                           "", question).split())


def not_mentioned(name: str, *, evidence: bool) -> str:
    """The answer to a question on `name`; `evidence`: what comes closest is shown with it."""
    if evidence:
        return f"The indexed documents do not mention {name}. What they say closest to your question:"
    return f"The indexed documents do not mention {name}, so I can't answer that from them."
