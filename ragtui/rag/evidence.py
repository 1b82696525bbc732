"""Evidence: the one or two sentences of the retrieved passages that best answer a question.

Extracted, never generated, so an answer is useful even when a small model's prose is weak.
A quote is plain text (no Markdown), a whole sentence or marked "…" where it is not, and
can stand on its own: a sentence that leans on the one before ("It …", "If not, …") is
quoted with it, and a description under a term ("setdefault(key[, default])", a command
line) is read, and its first sentence quoted, with that term.

Every quote is scored lexically (the question's words it contains, rare words weighing
more, words of its headings counting a little); the best few are embedded with the query
encoder already loaded for search, and the final score adds their cosine to the question.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

MAX_SENTENCES = 2  # shown
EMBEDDED_CANDIDATES = 14  # lexical pre-selection: embedding a sentence alone costs 5-30 ms
EMBEDDED_IN_BATCH = 24  # in one batch each costs less: 24 cost about what 14 alone do
LEXICAL_WEIGHT = 1.0
HEADING_WEIGHT = 0.3  # the question's words in the headings above a sentence (its section is on topic)
QUESTION_PENALTY = 1.0  # a sentence that asks ("for example 'how long do sessions last?'") answers nothing
FRAGMENT_PENALTY = 0.1  # cut by a passage boundary, or its subject left behind: what is missing may be the answer
SUBJECT_WEIGHT = 0.2  # the question's words in a sentence's first words: it is about them
SUBJECT_WORDS = 4
OPTION_WEIGHT = 0.5  # the question's words in an option's long name ("ignore case" and "--ignore-case")
SHAPE_BONUS = 0.1  # the quote holds what kind of thing was asked for (a number, a name in code, a path)
ASIDE_PENALTY = 0.3  # credits, licence, links elsewhere: rarely what a question asks
LEAD_BONUS = 0.1  # the first sentence under a heading ("DESCRIPTION", "## Pinning") defines
DEFINITION_BONUS = 0.3  # "what is/does X?" of the document about X: its lead sentences define X
NEIGHBOUR_BONUS = 0.05  # the sentence next to the best one: a second quote that explains it
MIN_WORDS = 4
MAX_CHARS = 400

Embed = Callable[[str], Any]  # text -> normalised numpy vector (Embedder.embed_query)
EmbedMany = Callable[[Sequence[str]], Any]  # texts -> one normalised vector a row (Embedder.embed)


@dataclass(frozen=True)
class Evidence:
    n: int  # the passage it was taken from, as numbered in the prompt
    text: str
    score: float


@dataclass(frozen=True)
class Quote:
    """A quotable piece of a passage: `text` as shown; `context` the term or heading it
    sits under inside the passage, if any (read with it when scoring)."""

    text: str
    context: str = ""
    lead: bool = False  # the first under its heading: where a section says what it is about
    aside: bool = False  # under a heading such as "SEE ALSO" or "AUTHOR": about the document, not its subject
    cut: bool = False  # by the passage's edges (not merely shortened for showing): what is missing may answer


_STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its me my of on or "
    "so that the their then there these this to was what when where which who why will with you "
    "your yours should would could".split()
)
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+.\-]*[A-Za-z0-9_]|[A-Za-z0-9]")
# A sentence ends at . ! ? followed by a space and a capital, quote or bracket ("e.g." and
# "..." do not end one); lists, headings and table rows end at their line.
_SENTENCE_END = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\.\.\.)(?<=[.!?])\s+(?=[A-Z`\"'(\[*“])")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|>\s*)")
# A sentence that leans on the one before it: quoted together.
_LEANS_BACK = re.compile(r"^(?:it|its|this|these|that|those|they|their|them|such|if not|otherwise|"
                         r"then|also|however|but|so|thus|hence|in (?:this|that|which) case)\b",
                         re.IGNORECASE)
# What kind of thing a question asks for, and what a quote holding one looks like.
_ANSWER_SHAPES = (
    (re.compile(r"\bhow (?:many|much|long|far|often|big|large|old|tall)\b|\bwhat (?:size|number|port)\b", re.I),
     re.compile(r"\d")),
    (re.compile(r"\b(?:which|what) (?:command|option|flag|setting|variable|method|function|attribute|"
                r"exception|key|file|module|operator|keyword)s?\b", re.I),
     re.compile(r"\(\)|\b__\w+__|(?<!\w)--?[a-z]|\b[a-z]+_[a-z_]+\b|\b[A-Z][a-z]+(?:Error|Exception)\b|"
                r"\b[a-z]\w*\(|\b[A-Z_]{3,}\b")),
    (re.compile(r"^\s*where\b", re.I), re.compile(r"[~/\\%]\w|\w/(?!\w)")),  # a path, or a folder: "index/"
    # "How do I …?" is answered by something to type: an option, a key, a command line.
    (re.compile(r"^\s*how (?:do|can|should|would) (?:i|you|we)\b", re.I),
     re.compile(r"(?<![\w-])--?[A-Za-z]|\b(?:ctrl|alt|shift)\+\w|\bF\d+\b|\bragtui [a-z]", re.I)),
)
_DEFINITION = re.compile(r"^\s*what (?:is|are|does|do)\b", re.I)
# A name in code ("__new__", "str.join", "setdefault()", "n_gpu_layers"): its own description defines it.
_CODE_NAME = re.compile(r"\b__\w+__|\b\w+\.\w+\b|\b\w+(?=\(\))|\b[a-z]+_\w+\b")
_OPENS_CLAUSE = re.compile(r"(?:when|whenever|if|unless|in|on|for|since|although|though|while|after|before|"
                           r"once|as|with|without|because|by|at|during|note)\b", re.IGNORECASE)
_ASIDE_HEADING = re.compile(r"(?:see also|authors?|copyright|licen[cs]e|reporting bugs|colophon)$", re.I)
_COMPLETE_END = re.compile(r"[.!?:;)\]\"'”’`*]$")
_SENTENCE_DONE = re.compile(r"[.!?)\]\"'”’`*]$")  # a passage ending on ";" or ":" was cut inside a sentence
# An example in plain text ("class C: pass       # a class with no methods"): code, not prose.
_CODE_COMMENT = re.compile(r"\S {2,}# ")
# A sentence that points elsewhere ("See step 7 below.", "… here are some hints."): no answer itself.
_POINTER = re.compile(r"^see\b|\bhere (?:are|is)\b|\b(?:below|above|as follows)\W*$", re.I)
# A paragraph opening on "It …" carries on the prose paragraph before it ('"break" may only occur
# nested in a loop.' / 'It terminates the nearest enclosing loop'); "This …" may be about a table or example.
_CARRIES_ON = re.compile(r"^(?:it|otherwise)\b", re.I)
# A sentence written around examples: "class Foo: pass" / "is equivalent to" / "class Foo(object):
# pass". Its middle line is no term, and the example after it is code.
_BETWEEN_EXAMPLES = re.compile(r"(?:is|are|was|were)(?: [a-z]+)+")
# Plain-text headings ("DESCRIPTION", "EXIT STATUS" in a manual page) are capitals alone; a
# line with a wide gap inside ("TAC(1)      User Commands      TAC(1)") is a page header.
_CAPITALS_HEADING = re.compile(r"^[A-Z][A-Z0-9 ()/&,'-]*[A-Z)]$")
_LAYOUT_GAP = re.compile(r"\S {8,}\S")
_SIGNATURE = re.compile(r"^(?:classmethod |staticmethod |await )?[\w.]+\(.*\)$")  # "object.__abs__(self)"
_INLINE_GAP = re.compile(r"\S {3,}\S")  # "-t     sort by time": a term and its description on one line
_LINE_END_HYPHEN = re.compile(r"\u2010 (?=[a-z])")  # a word broken at the line end (man pages)
# A manual's option and what it does ("-p, --pretty show uptime in pretty format"): it is
# about the option, and the first one under OPTIONS does not define the page's subject.
_OPTIONS = re.compile(r"^(?:--?[A-Za-z0-9][\w\-]*(?:\[?=[^\s,]*)?,? )+")


_OPERATOR_CHARS = r"\-+*/%@<>=!~^&|"
_OPERATOR = re.compile(rf"\*\*|//|<<|>>|<=|>=|==|!=|:=|[{_OPERATOR_CHARS}]")
# Tokens that are not words: a link (its path names no subject of the sentence), a short
# option ("-r" is not "-R") and an operator standing alone ("//", "%", "+").
_TOKEN = re.compile(
    r"(?P<link><?\b(?:https?|ftp)://\S+)"
    r"|(?P<code>(?<![\w-])-[A-Za-z](?![\w-])"
    rf"|(?<![\w{_OPERATOR_CHARS}])(?:{_OPERATOR.pattern})(?![\w{_OPERATOR_CHARS}]))"
    rf"|(?P<word>{_WORD.pattern})"
)


def words(text: str) -> list[str]:
    """Stemmed, lower-case words; an identifier also gives its parts ("__enter__()" gives
    "enter", "dict.setdefault" "setdefault") so a question's plain words meet code names.
    Short options and operators are kept as they are; links give nothing."""
    found = []
    for match in _TOKEN.finditer(text):
        if match["code"]:
            found.append(match["code"])
        if not match["word"]:
            continue
        token = match["word"].lower()
        found.append(_stem(token))
        parts = [part for part in re.split(r"[._\-]+", token) if part]
        if len(parts) > 1 or parts and parts[0] != token:
            found.extend(_stem(part) for part in parts)
        if "." in token:  # "object.__new__" names "__new__" too
            found.extend(_stem(part) for part in token.split(".") if "_" in part)
    return found


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """English (Snowball) stem, so 'sessions' meets 'session', 'assigned' 'assignment' and
    'iterate' 'iterator': tantivy's, the full-text index's own stemmer."""
    return (_stemmer().analyze(word) or [word])[0]


@functools.cache
def _stemmer():
    import tantivy

    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.stemmer("english")).build()


def plain(text: str) -> str:
    """Markdown to the plain text a reader sees: no **bold**, *emphasis*, `code` marks or
    link syntax, whitespace made single."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](url) -> label
    text = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", r"\1", text)
    text = re.sub(r"`+([^`]*)`+", r"\1", text)
    return " ".join(text.split())


_MARKER = re.compile(r"(^|\s)\[\d+\](?=$|[\s.,;:)])")


def without_footnote_marks(text: str) -> str:
    """A document's own footnote marks off ("cased characters [4] in", "[1] Due to …"): in a
    quote shown as "[2] …" they read as citations. A number the text talks about ("cites them
    as [1], [2]") stays."""
    def mark(match: re.Match) -> str:
        before = text[:match.start()].split()
        talked_about = before and (before[-1].lower() in _STOP_WORDS or _MARKER.match(" " + before[-1].rstrip(",")))
        return match.group() if talked_about else ""

    return _MARKER.sub(mark, text).strip()


def _shortened(text: str, limit: int = MAX_CHARS) -> str:
    """At most `limit` characters, cut between words and marked '…'."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def quotes(text: str) -> list[Quote]:
    """What a passage offers to quote: prose sentences, list items and table rows; no
    headings, no code. A sentence that leads in with a colon ("index them first:") is quoted
    with what follows it: a sentence, a list item or the first line of a code block. A
    passage that starts or ends inside a sentence has it marked "…"."""
    found: list[Quote] = []
    paragraph: list[str] = []
    listed = False  # the paragraph is a list item
    term = ""  # a short line the next paragraph describes ("setdefault(key[, default])")
    described = False  # the paragraph after the term has been read
    opening = True  # nothing read yet: the first paragraph may be the tail of a cut sentence
    in_code = code_started = in_grammar = False
    in_grid = row_cut = _starts_in_grid_row(text)  # the first row's top lines are in the passage before
    row: list[list[str]] = []  # the lines of a grid table's row, split in cells
    items: list[str] = []  # the list being read, offered whole too ("which modes are there?")
    lead = ""  # the sentence that introduced it ("Inside it:")
    leads: set[int] = set()  # positions in `found` of the first quote under a heading
    asides: set[int] = set()  # and of those under a heading of asides
    completed: set[int] = set()  # and of lead-ins completed by a block's first line ("e.g.: def f(): …")
    aside_from = -1  # the position where the current section of asides starts
    example_next = False  # the paragraph read next is an example (after "is equivalent to")
    prose_end = -1  # len(found) after the last prose paragraph, while nothing else came after it

    def end_list() -> None:
        nonlocal lead
        whole = " ".join(item if _COMPLETE_END.search(item) else f"{item};" for item in items)
        if len(items) > 1 and len(lead) + len(whole) < MAX_CHARS:
            found.append(Quote(f"{lead} {whole}".strip(), term))
        items.clear()
        lead = ""

    def add(unit: str, context: str = "", *, leans_back: bool = True) -> None:
        unit = without_footnote_marks(plain(unit))
        if not unit:
            return
        last = found[-1] if found else None
        if last and last.text.endswith(":") and len(found) - 1 not in completed:
            found[-1] = Quote(f"{last.text} {unit}", last.context)
        elif leans_back and last and _LEANS_BACK.match(unit):
            # Quoted with the sentence it leans on (which is also offered alone), and leads as it does.
            if len(found) - 1 in leads:
                leads.add(len(found))
            found.append(Quote(f"{last.text} {unit}", last.context))
        else:
            found.append(Quote(unit, context))

    def complete_lead_in(line: str) -> None:
        add(line)
        completed.add(len(found) - 1)  # "…: for x in y:" ends on a colon, but is whole

    def end_lead_in() -> None:
        """What a lead-in ("The syntax is:") introduced is not quoted: it is not joined to the
        next sentence ("The syntax is: Thus, …")."""
        if found and found[-1].text.endswith(":") and len(found) - 1 not in completed:
            found[-1] = Quote(f"{found[-1].text} …", found[-1].context)

    def drop_term() -> None:
        nonlocal term
        if term and not described:  # nothing described it: a line of its own ("tac - print files in reverse")
            add(term, leans_back=False)
        term = ""

    def end_row(*, cut: bool = False) -> None:
        nonlocal row_cut
        cells = (" ".join(part for part in column if part) for column in zip(*row))
        joined = " · ".join(cell for cell in cells if cell)
        if joined and row_cut:
            joined, row_cut = f"… {joined}", False
        add(f"{joined} …" if cut and joined else joined, leans_back=False)  # cut: the passage ends inside the row
        row.clear()

    def flush(*, at_end: bool = False) -> None:
        nonlocal term, described, opening, lead, example_next, prose_end
        if not paragraph:
            return
        joined, one_line = _LINE_END_HYPHEN.sub("", " ".join(paragraph)), len(paragraph) == 1
        was_example, example_next = example_next, one_line and bool(_BETWEEN_EXAMPLES.fullmatch(joined))
        if was_example or example_next:
            paragraph.clear()
            opening, prose_end = False, -1
            return
        if not one_line and not listed and all(_SIGNATURE.match(line) for line in paragraph):
            joined, one_line = ", ".join(paragraph), True  # methods described together: "object.__neg__(self), …"
        paragraph.clear()
        was_opening, opening = opening, False
        if listed:
            if not items and found and found[-1].text.endswith(":"):
                lead = found[-1].text
            items.append(plain(joined))
        else:
            end_list()
        if at_end and not _SENTENCE_DONE.search(joined):
            joined += " …"  # the passage ends inside a sentence
        elif one_line and not listed and (len(joined) <= 80 or _SIGNATURE.match(joined)) \
                and not re.search(r"[.!?:;,]$", joined) \
                and not _INLINE_GAP.search(joined) and not (found and found[-1].text.endswith(":")):
            drop_term()
            term, described = plain(joined), False  # a term or command line: the next paragraph describes it
            return
        if was_opening and joined[0].islower():
            joined = "… " + joined  # the passage starts inside a sentence
        carries_on = prose_end == len(found) and len(found) not in leads and not listed \
            and not _POINTER.search(found[-1].text)
        for i, sentence in enumerate(_SENTENCE_END.split(joined)):
            if i == 0 and term and not described and not listed:
                add(f"{_shortened(term, MAX_CHARS // 3)} — {sentence}", term, leans_back=False)
            else:
                add(sentence, term, leans_back=i > 0 or carries_on and bool(_CARRIES_ON.match(sentence)))
        described = True
        prose_end = -1 if listed else len(found)

    lines = text.splitlines()
    for at, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            end_list()
            in_code, code_started, opening, prose_end = not in_code, False, False, -1
            continue
        if in_code:
            if not code_started and stripped and found and found[-1].text.endswith(":"):
                complete_lead_in(stripped)
            code_started = code_started or bool(stripped)
            continue
        if not in_grammar and (stripped.startswith("|") or _is_grid_border(stripped)):
            flush()  # a table row stands alone
            end_list()
            opening, prose_end = False, -1
            if stripped.startswith("+") or in_grid and set(stripped) <= set("|=-+: "):
                end_row()  # a grid table: its rows run over the lines between these
                in_grid = True
            elif in_grid:
                row.append([cell.strip() for cell in stripped.strip("|").split("|")])
            elif not set(stripped) <= set("|-: "):
                add(" · ".join(cell.strip() for cell in stripped.strip("|").split("|") if cell.strip()),
                    leans_back=False)
            continue
        end_row()
        in_grid = False
        if not stripped:
            flush()
            in_grammar = False
            continue
        if in_grammar or "::=" in stripped or stripped.startswith(">>>") or _CODE_COMMENT.search(stripped):
            flush()  # a grammar rule or an example, to the blank line that ends it
            end_list()
            if not in_grammar and found and found[-1].text.endswith(":"):
                complete_lead_in(stripped)  # its first line completes the lead-in, as a code block's does
            end_lead_in()
            in_grammar, opening, prose_end = True, False, -1
            continue
        if stripped.startswith("#") or set(stripped) <= set("|-:= *") or _CAPITALS_HEADING.match(stripped) \
                or _LAYOUT_GAP.search(stripped) or not paragraph and _is_subheading(lines, at):
            flush()  # a heading, a rule or a page header
            end_list()
            drop_term()
            end_lead_in()
            opening = False
            asides.update(range(aside_from, len(found)) if aside_from >= 0 else ())
            aside_from = len(found) if _ASIDE_HEADING.match(stripped.lstrip("# ")) else -1
            leads.add(len(found))
            continue
        if _LIST_MARK.match(line):
            flush()  # a list item starts afresh; its wrapped lines follow
            stripped = _LIST_MARK.sub("", line).strip()
            listed = True
        elif not paragraph:
            listed = False
        paragraph.append(stripped)
    end_row(cut=True)
    flush(at_end=True)
    end_list()
    drop_term()
    asides.update(range(aside_from, len(found)) if aside_from >= 0 else ())
    # A lead-in that nothing followed (a grammar rule, a heading came next) is often the
    # definition itself: 'The "if" statement is used for conditional execution:'.
    return [Quote(_shortened(q.text + " …" if q.text.endswith(":") else q.text), q.context,
                  i in leads and not _OPTIONS.match(q.text), i in asides, "…" in q.text)
            for i, q in enumerate(found) if len(_WORD.findall(q.text)) >= MIN_WORDS]


_TITLE = re.compile(r"^[A-Z][\w ,/&'()-]{2,58}[\w)]$")


def _is_subheading(lines: list[str], at: int) -> bool:
    """A short title after a blank line, whose text follows on more indented lines: a
    manual's subsection ("   General Output Control" over "       -c, --count"). The
    passage's first line may be the end of a cut line instead ("When" over "   searching
    recursively, …"): it is a title only if indented or what follows starts afresh."""
    line, below = lines[at], lines[at + 1] if at + 1 < len(lines) else ""
    indent = len(line) - len(line.lstrip())
    starts_afresh = bool(re.match(r"\s*(?:-|[A-Z])", below))
    if (lines[at - 1].strip() if at else not (indent or starts_afresh)) or not _TITLE.match(title := line.strip()):
        return False
    return len(title.split()) <= 6 and bool(below.strip()) and len(below) - len(below.lstrip()) >= indent + 3


def _is_grid_border(stripped: str) -> bool:
    """A grid table's border line: "+----+", "+====+"."""
    return stripped.startswith("+") and set(stripped) <= set("+-= ")


def _starts_in_grid_row(text: str) -> bool:
    """The passage starts inside a grid table's row: "|"-lines up to the table's first "+---"
    border, which a pipe table never has."""
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped.startswith(("|", "+")):
            return False
        if stripped.startswith("+"):
            return _is_grid_border(stripped)
    return False


def sentences(text: str) -> list[str]:
    """The quotable sentences of a passage, as shown."""
    return [q.text for q in quotes(text)]


def extract(question: str, passages: Sequence, embed: Embed | None, *,
            limit: int = MAX_SENTENCES, embed_many: EmbedMany | None = None) -> list[Evidence]:
    """The best `limit` quotes of `passages` (objects with .n, .text and .title), best first.

    With `embed_many`, nearly every sentence is embedded (in one batch), so one that shares
    no word with the question ("Supported: plain text, Markdown…" for "which file formats?")
    can still win."""
    stop_words = _STOP_WORDS | {_stem(w) for w in _STOP_WORDS}  # words() stems: "does" is "doe" there
    asked = [w for w in words(question) if w not in stop_words]
    candidates: list[tuple[int, int, Quote, str]] = []  # passage n, rank, quote, heading
    places: list[tuple[int, int]] = []  # passage n, position in it
    seen = set()
    for rank, passage in enumerate(passages):
        heading = _heading(getattr(passage, "title", ""))
        for position, quote in enumerate(quotes(passage.text)):
            key = " ".join(words(quote.text))
            if key not in seen:  # passages overlap: a sentence is quoted once, from the best one
                seen.add(key)
                candidates.append((passage.n, rank, quote, heading))
                places.append((passage.n, position))
    if not candidates or not asked:
        return []
    # Rare words say more: a word in every sentence ("ragtui") counts little.
    sentence_words = [set(words(q.text)) for _, _, q, _ in candidates]
    weight = {w: math.log(1 + len(candidates) / (1 + sum(w in ws for ws in sentence_words))) for w in set(asked)}
    total = sum(weight.values()) or 1.0

    def share(found: set[str]) -> float:
        return sum(weight[w] for w in set(asked) if w in found) / total

    titles = {p.n: set(words(getattr(p, "title", ""))) for p in passages}
    # A sentence under the heading "tac" or 'The "return" statement' is about it, named or not.
    topics = {heading: set(words(heading)) for _, _, _, heading in candidates}
    lexical = [share(ws | topics[h]) + HEADING_WEIGHT * share(titles[n] | set(words(q.context)) - ws - topics[h])
               + SUBJECT_WEIGHT * share(set(words(_subject(q))))
               + OPTION_WEIGHT * bool(set(asked) & set(words(_long_options(q.text))) - titles[n])
               for ws, (n, _, q, h) in zip(sentence_words, candidates)]
    # A cut sentence, or one leaning on a sentence the passage does not hold ("It is written
    # as …" at its start), may be missing what answers.
    penalty = [(QUESTION_PENALTY if "?" in q.text else 0.0) + 0.01 * rank
               + (FRAGMENT_PENALTY if q.cut or _LEANS_BACK.match(q.text) else 0.0)
               + ASIDE_PENALTY * (q.aside or bool(_POINTER.search(q.text.rstrip(" …"))))
               for _, rank, q, _ in candidates]
    shapes = [shape for asks, shape in _ANSWER_SHAPES if asks.search(question)]
    defines = {n for n in titles if _DEFINITION.match(question) and _asks_about(asked, titles[n])}
    named = {_stem(part.lower()) for name in _CODE_NAME.findall(question) for part in {name, name.rsplit(".", 1)[-1]}}
    operators = {w for w in asked if _OPERATOR.fullmatch(w)}
    bonus = [SHAPE_BONUS * any(shape.search(q.text) for shape in shapes)
             + (LEAD_BONUS + DEFINITION_BONUS * (n in defines)) * q.lead
             + DEFINITION_BONUS * (_describes(q, named) or _row_about(q, operators))
             for n, _, q, _ in candidates]
    prior = [lex - pen + b for lex, pen, b in zip(lexical, penalty, bonus)]
    shortlist = sorted(range(len(candidates)), key=lambda i: -prior[i])
    shortlist = shortlist[:EMBEDDED_IN_BATCH if embed_many else EMBEDDED_CANDIDATES]
    texts = [_in_context(candidates[i][2], candidates[i][3]) for i in shortlist]
    if embed_many is not None:
        vectors = embed_many([question, *texts])
        similarity = [float(v @ vectors[0]) for v in vectors[1:]]
    elif embed is not None:
        query = embed(question)
        similarity = [float(embed(text) @ query) for text in texts]
    else:
        similarity = [0.0] * len(texts)
    scored = []
    for i, cosine in zip(shortlist, similarity):
        n, _, quote, _ = candidates[i]
        scored.append((Evidence(n, quote.text, cosine + LEXICAL_WEIGHT * prior[i]), places[i]))
    scored.sort(key=lambda pair: -pair[0].score)
    best, best_place = scored[0]
    picked: list[Evidence] = []
    for item, (n, position) in scored:
        # (not a part of the best: "A." next to "A. It B." says nothing more)
        if n == best_place[0] and abs(position - best_place[1]) == 1 and item.text not in best.text:
            item = Evidence(item.n, item.text, item.score + NEIGHBOUR_BONUS)
        picked.append(item)
    picked.sort(key=lambda e: -e.score)
    kept: list[Evidence] = []
    for item in picked:  # "A. It B." and "A." say the same, as do "A." and "A …": the better one is kept
        if not any(_whole(item.text) in k.text or _whole(k.text) in item.text for k in kept):
            kept.append(item)
    return kept[:limit]


def _term_part(quote: Quote) -> str:
    """The term a description's first sentence is quoted with ("str.find(sub[, start[, end]])"
    in "str.find(sub[, start[, end]]) — Return the lowest index…"), shortened as shown; or ""."""
    head, dash, _ = quote.text.partition(" — ")
    return head if dash and quote.context and quote.context.startswith(head.removesuffix(" …")) else ""


def _describes(quote: Quote, names: set[str]) -> float:
    """1 for the first sentence describing a name the question asks about ("object.__new__(cls[,
    ...]) — Called to create a new instance…" for "When is __new__ called?"), 1/2 for the
    description's other sentences ('Return "-1" if sub is not found.' under "str.find(…)")."""
    if not names or not names & set(words(quote.context)):
        return 0.0
    return 1.0 if _term_part(quote) else 0.5


def _row_about(quote: Quote, operators: set[str]) -> bool:
    """A table row whose first cell names an operator asked about: the operator table's
    '"*", "@", "/", "//", "%" · Multiplication, …, remainder' for "What is the % operator?"."""
    first, row, _ = quote.text.removeprefix("… ").partition(" · ")
    return bool(row and operators & set(words(first)))


def _asks_about(asked: Sequence[str], title: set[str]) -> bool:
    """The question is about the document titled `title` itself ("What does tac do?", "What
    does the pass statement do?"): it names it, and at most one other plain word."""
    others = [w for w in asked if w not in title]
    return len(others) < len(asked) and len(others) <= 1 and not any(_OPTIONS.match(w) for w in others)


def _whole(text: str) -> str:
    """A quote without the marks of a cut ("… A" and "A …" are parts of "A")."""
    return text.removeprefix("… ").removesuffix(" …")


def _long_options(text: str) -> str:
    """The long names of the options a manual's option line is about ("--ignore-case")."""
    options = _OPTIONS.match(text)
    return " ".join(re.findall(r"--[\w-]+", options.group())) if options else ""


def _subject(quote: Quote) -> str:
    """A sentence's first words, after the term it describes: what it is about; none when it
    opens with a condition or a setting ("When return passes control…" is about a case)."""
    term = _term_part(quote)
    text = quote.text[len(term) + 3:] if term else quote.text.lstrip("… ")
    if _OPENS_CLAUSE.match(text):
        return ""
    if options := _OPTIONS.match(text):
        return options.group()
    return " ".join(text.split()[:SUBJECT_WORDS])


def _in_context(quote: Quote, heading: str) -> str:
    """A quote as embedded: under its heading and term ("It is flushed on every turn" says
    more under "local")."""
    context = " · ".join(part for part in (heading, quote.context) if part and part not in quote.text)
    return f"{context}: {quote.text}" if context else quote.text


def _heading(title: str) -> str:
    """The innermost heading of a passage title such as "Guide › Install › Linux"."""
    return title.rsplit("›", 1)[-1].strip()


def shown(evidence: Sequence[Evidence], limit: int = MAX_SENTENCES) -> list[Evidence]:
    """What an answer shows: the best two quotes. Showing the second only when it scored
    within 0.15 of the best missed the answer twice in 23 tuning questions."""
    return list(evidence[:limit])

