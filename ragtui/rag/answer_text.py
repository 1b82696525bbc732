"""What a small model writes, made fit to show, as it streams.

- An invented next turn ("Question: …", "User: …") or a chat-template token ends the answer,
  and so does a sentence the answer already said (small models loop): the caller is told to
  stop generating.
- A citation [n] with no passage n is removed; a run of citations ("[1], [2], [3] … [40]")
  is shown once, as its valid numbers.
- A leading "Answer:" label is dropped.
- With `max_sentences` (a tiny model, asked for one or two sentences), the answer ends after
  that many: what a 135M model adds after them is mostly invented. A list marker ("1." on its
  own line or after "Here's how:") is not a sentence: the cut comes after the item it opens,
  never on the bare marker; a bare marker the answer ends on is dropped, and a code block it
  leaves open is closed.
- With `grounded` (a tiny model, which invents commands, packages and scripts), code
  (`inline` or a fenced block) with a word that is in no passage ends the answer at the start
  of the sentence holding it, and so does a loop of a few words said four times over; text
  is then shown a sentence at a time, each once decided.
- With `question` (a tiny model, whose yes or no is close to a coin toss: QA Q38), a leading
  verdict ("Yes,", "No.", "The answer is no,", "Yes, you can …") is not shown: the rest of its
  sentence is kept if it says something of its own, else the sentence goes.

Text that may still turn into one of these (a line starting "Quest…", an open "[1, 2",
trailing spaces) is held back until it is decided, so what streams is exactly what is kept.
"""
from __future__ import annotations

import re
from typing import Callable

TURN_LABELS = ("question", "user", "q", "human", "passages", "passage", "context", "instruction")
_TURN = re.compile(r"(?:^|\n)[ \t*_#>]*(?:" + "|".join(TURN_LABELS) + r")[ \t]*\d*[ \t*_]*:", re.IGNORECASE)
_SPECIAL = re.compile(r"<\||</s>")  # <|im_start|>, <|endoftext|>, … never belong in prose
_ANSWER_LABEL = re.compile(r"^[ \t*_]*(?:the answer(?: to (?:your|this|the) question)? is|answer|a)[ \t*_]*:[ \t*_]*",
                           re.IGNORECASE)
_GROUP = r"\[[ \t]*\d+(?:[ \t]*[,;][ \t]*\d+)*[ \t]*\]"
_RUN = re.compile(rf"(?:[ \t]*[,;]?[ \t]*{_GROUP})+")
_OPEN_TAIL = re.compile(rf"(?:[ \t]*[,;]?[ \t]*{_GROUP})*[ \t]*[,;]?\s*(?:\[[\d,; \t]*)?$")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?](?=\s)")
# A list marker opening an item: "1." or "a." at a line start, "1." after a lead-in's colon
# ("Here's how: 1."); a bullet at a line start. It is not a sentence, and one with nothing
# after it is held back while streaming, then dropped if the answer ends there.
_MARKER = r"(?:(?:^|(?<=\n))[ \t]*(?:\d{1,3}\.|[a-z][.)]|[-*•])|(?<=:)[ \t]*1\.)"
_LIST_MARKER = re.compile(rf"^\s*{_MARKER}$|:[ \t]*1\.$", re.IGNORECASE)  # a _SENTENCE match that is one
_DANGLING_MARKER = re.compile(rf"{_MARKER}\s*$", re.IGNORECASE)
_MAYBE_MARKER = re.compile(r"(?:^|(?<=\n))[ \t]*\d{1,3}$")  # "1" may become "1."
_FENCE = "```"
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*(?:`|\n|\Z)", re.DOTALL)  # a fenced block or an inline span
_CODE_WORD = re.compile(r"\w{2,}")
_LOOP = re.compile(r"(\b\w+(?:\W{1,3}\w+){0,2})(?:\W{1,3}\1\b){3,}")  # one to three words, four times over
_LEADING_CITATION = r"[ \t*_]*(?:\[[\d, ]*\]?[ \t]*)?"  # "[1] No, …"; "[1" may be one
_VERDICT = re.compile(_LEADING_CITATION + r"(?:the answer(?: to (?:your|this|the) question)? is[ \t]+)?(?:yes|no)\b[*_]*"
                      r"(?:[ \t]*(?P<stop>[.!]|$)|[ \t]*[,;:]|[ \t]+[—–-](?=[ \t]))[ \t]*", re.IGNORECASE)
_VERDICT_STARTS = tuple(f"{lead}{verdict}" for verdict in ("yes", "no")
                        for lead in ("", "the answer is ",
                                     *(f"the answer to {whose} question is " for whose in ("the", "your", "this"))))
# "you can …", "it does not …" after a verdict is the verdict said again, not a statement.
_VERDICT_CLAUSE = re.compile(r"(?:you|i|it|they|we|this|that)[ \t]+(?:can|cannot|can't|do|don't|does|doesn't|is|isn't|"
                             r"are|aren't|will|won't|should|shouldn't)\b", re.IGNORECASE)
_PLAIN_WORDS = frozenset("a an the it its you your i my we our they them this that to of in on for with and or "
                         "is are be can cannot not no yes do does don't doesn't will won't".split())
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
Grounded = Callable[[str], bool]  # whether a piece of code holds only words of the passages


def grounded_in(passages: str) -> Grounded:
    """Code is grounded when every word of it (two characters or more) is in `passages`."""
    known = set(_CODE_WORD.findall(passages.lower()))
    return lambda code: set(_CODE_WORD.findall(code.lower())) <= known
REPEAT_MIN_WORDS = 5


def cited_numbers(text: str, available: int) -> set[int]:
    """The passage numbers an answer refers to: [2], [1, 3], [1][2]; out-of-range ones ignored."""
    found = {int(n) for group in re.findall(_GROUP, text) for n in re.findall(r"\d+", group)}
    return {n for n in found if 1 <= n <= available}


def clean_citations(text: str, available: int) -> str:
    """Each run of citations becomes its valid numbers, once each; a run with none goes."""

    def valid(run: re.Match) -> str:
        numbers: list[int] = []
        for n in map(int, re.findall(r"\d+", run.group())):
            if 1 <= n <= available and n not in numbers:
                numbers.append(n)
        at_line_start = run.start() == 0 or text[run.start() - 1] == "\n"
        return ("" if at_line_start else " ") + "".join(f"[{n}]" for n in numbers) if numbers else ""

    return _RUN.sub(valid, text)


def truncation_mark(max_tokens: int) -> str:
    return f" … (cut at {max_tokens} tokens)"


def settle(raw: str, available: int, *, final: bool = False, max_sentences: int | None = None,
           grounded: Grounded | None = None, question: str | None = None) -> tuple[str, bool]:
    """The clean text decided so far from the model's raw output, and whether it has ended.

    Not final: what might still change is left out. The text for a longer `raw` always
    extends the text for a shorter one."""
    raw = raw.lstrip()
    if not final and len(raw) < 40 and _may_be_label(raw):
        return "", False  # might be an "Answer:" label: wait to see it whole
    raw = _ANSWER_LABEL.sub("", raw, count=1)
    if question is not None:
        verdictless = _without_verdict(raw, question, final=final)
        if verdictless is None:
            return "", False  # its first sentence may be a verdict: wait to see it whole
        raw = verdictless
    end = _end(raw + " " if final else raw, max_sentences)  # at the end, the last sentence is whole
    if grounded is not None:
        unfit = _unfit_from(raw[:end], grounded, whole=final or end is not None)
        if unfit is not None:
            return _finished(raw[:unfit], available), True
    if end is not None:
        return _finished(raw[:end], available), True
    if final:
        return _finished(raw, available), False
    hold = _undecided_from(raw)
    if grounded is not None:  # the sentence being written may yet hold code to drop
        open_code = [c.start() for c in _CODE.finditer(raw) if not _closed(c.group())]
        hold = min(hold, *(_sentence_start(raw, at) for at in [len(raw), *open_code]))
    return _clean(raw[:hold], available), False


def _without_verdict(raw: str, question: str, *, final: bool) -> str | None:
    """`raw` without a leading yes/no verdict; None while its first sentence is undecided."""
    start = re.sub(_LEADING_CITATION, "", raw.lower(), count=1).rstrip(" \t*_—–-")
    if not final and any(verdict.startswith(start) for verdict in _VERDICT_STARTS):
        return None  # "No" may become "No," or "Nothing", "Yes -" "Yes - it …"
    verdict = _VERDICT.match(raw)
    if not verdict:
        return raw
    stop = verdict.group("stop") is not None  # "No." is a sentence of its own
    end = None if stop else _SENTENCE_END.search(raw, verdict.end())
    if not (stop or end or final):
        return None  # the rest of its sentence decides
    cut = verdict.end() if stop else end.end() if end else len(raw)
    rest, after = raw[verdict.end():cut].strip(), raw[cut:].lstrip()
    if not _stands_alone(rest, question):
        return after
    if rest.split()[0].isalpha():
        rest = rest[0].upper() + rest[1:]
    return f"{rest} {after}" if after else rest


def _stands_alone(rest: str, question: str) -> bool:
    """Whether what follows a verdict says something of its own: not "you can …", and at least
    two words that are neither in the question nor plain ("Alice can see your sessions" for
    "Can Alice see my sessions?" only says the verdict again)."""
    if not rest or _VERDICT_CLAUSE.match(rest):
        return False
    asked = set(re.findall(r"[\w']+", question.lower()))
    return len(set(re.findall(r"[\w']+", rest.lower())) - asked - _PLAIN_WORDS) >= 2


def _closed(code: str) -> bool:
    return len(code) >= 2 * len(_FENCE) and code.endswith(_FENCE) if code.startswith(_FENCE) else \
        len(code) >= 2 and code.endswith(("`", "\n"))  # an inline span never spans lines


def _unfit_from(raw: str, grounded: Grounded, *, whole: bool) -> int | None:
    """Where the sentence holding the first code with a word from no passage, or the first
    loop ("SHOW / SHOW / SHOW / SHOW"), starts; code still open counts only when `raw` is `whole`."""
    starts = [code.start() for code in _CODE.finditer(raw)
              if (whole or _closed(code.group())) and not grounded(_code_body(code.group()))]
    loop = _LOOP.search(raw)
    if loop:
        starts.append(loop.start())
    return _sentence_start(raw, min(starts)) if starts else None


def _code_body(code: str) -> str:
    """Code without its backticks, or a fenced block's info string ("bash")."""
    if code.startswith(_FENCE):
        code = code[len(_FENCE):].partition("\n")[2]
    return code.strip("`")


def _sentence_start(raw: str, at: int) -> int:
    """Where the sentence holding position `at` starts: after the last sentence before it (a
    list marker is none: its item is the sentence)."""
    ends = [m.end() for m in _SENTENCE.finditer(raw[:at]) if not _LIST_MARKER.search(m.group())]
    return ends[-1] if ends else 0


def _finished(raw: str, available: int) -> str:
    """The whole answer: no label or list marker left dangling at its end, no code block left open."""
    text = _clean(_DANGLING_MARKER.sub("", _without_bare_label(raw)), available)
    return text + f"\n{_FENCE}" if text.count(_FENCE) % 2 else text


def ends_on_lead_in(text: str) -> bool:
    """Whether an answer stops where it promised more: "Here's how:", "the following steps:"."""
    return text.rstrip().endswith(":")


def _without_bare_label(raw: str) -> str:
    """Without a last line that is only a turn label ("Question"): the model began a turn and stopped."""
    raw = raw.rstrip()
    last = raw.rsplit("\n", 1)[-1].strip(" \t*_#>").rstrip("0123456789 ?.!:").lower()
    if last in TURN_LABELS:
        return raw[: raw.rfind("\n") + 1] if "\n" in raw else ""
    return raw


_LABELS = ("answer:", "the answer is:", "the answer to your question is:", "the answer to this question is:",
           "the answer to the question is:")


def _may_be_label(raw: str) -> bool:
    start = raw.lower().strip(" *_")
    return any(label.startswith(start) for label in _LABELS)


def _clean(text: str, available: int) -> str:
    return clean_citations(text.rstrip(), available).strip()


def _end(raw: str, max_sentences: int | None = None) -> int | None:
    ends = [m.start() for m in (_TURN.search(raw), _SPECIAL.search(raw)) if m]
    said: set[str] = set()
    count = 0
    for match in _SENTENCE.finditer(raw):
        if _LIST_MARKER.search(match.group()):
            continue  # its item is still to come
        count += 1
        sentence = " ".join(match.group().split()).lower()
        if len(sentence.split()) >= REPEAT_MIN_WORDS:
            if sentence in said:
                ends.append(match.start())
                break
            said.add(sentence)
        if count == max_sentences:
            ends.append(match.end())  # complete: a space follows it
            break
    return min(ends) if ends else None


def _undecided_from(raw: str) -> int:
    """Where text that may still become a turn label, a template token or a citation run starts."""
    hold = len(raw)
    line_start = raw.rfind("\n")  # -1: the first line, which may be a label too
    label = raw[line_start + 1:].lstrip(" \t*_#>").lower()
    label = re.sub(r"[ \t]*\d*[ \t*_]*[:?.!]?$", "", label)
    if len(label) < 16 and any(t.startswith(label) for t in TURN_LABELS):
        hold = max(line_start, 0)
    angle = raw.rfind("<")
    if angle >= 0 and len(raw) - angle < 2:
        hold = min(hold, angle)
    tail = _OPEN_TAIL.search(raw)
    if tail:
        hold = min(hold, tail.start())
    marker = _DANGLING_MARKER.search(raw[:hold]) or _MAYBE_MARKER.search(raw[:hold])
    return marker.start() if marker else hold


class AnswerFilter:
    """Feed it the model's pieces; it passes on the clean text and says when to stop."""

    def __init__(self, available: int, emit: Callable[[str], None] | None = None, *,
                 max_sentences: int | None = None, grounded: Grounded | None = None,
                 question: str | None = None):
        self.available = available
        self.emit = emit or (lambda _text: None)
        self.max_sentences = max_sentences
        self.grounded = grounded
        self.question = question
        self.text = ""  # everything passed on so far
        self.ended = False  # an invented turn, a template token or a repeat was cut off
        self._raw = ""

    def feed(self, piece: str) -> bool:
        """True once the answer is over: stop generating."""
        if not self.ended:
            self._raw += piece
            self._update(*self._settle(final=False))
        return self.ended

    def finish(self) -> str:
        """Pass on what was held back; returns the whole clean text."""
        if not self.ended:
            self._update(*self._settle(final=True))
        return self.text

    def _settle(self, *, final: bool) -> tuple[str, bool]:
        return settle(self._raw, self.available, final=final, max_sentences=self.max_sentences,
                      grounded=self.grounded, question=self.question)

    def _update(self, text: str, ended: bool) -> None:
        if len(text) > len(self.text) and text.startswith(self.text):
            self.emit(text[len(self.text):])
            self.text = text
        self.ended = ended
