"""ChatService: one question in, a grounded and cited answer out, both kept in the session store.

retrieve → pick the evidence → build the prompt with the history that fits → stream,
cleaned (answer_text) → persist. The CLI and the TUI both call `ask`. Importing this module is cheap: torch, LanceDB and llama.cpp are
imported by `load()`, which the TUI runs in a worker.
"""
from __future__ import annotations

import dataclasses
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .answer_text import AnswerFilter, cited_numbers, ends_on_lead_in, grounded_in, truncation_mark
from .decline import not_mentioned, unknown_name, without
from .evidence import Evidence, extract, shown
from ..conversation import conversation_order
from ..source import Source
from .prompt import NOTHING_FOUND, BuiltPrompt, Turn, build_prompt, retrieval_query

if TYPE_CHECKING:  # types only: rag/ imports nothing from sessions/ at run time
    from ..sessions.api import SessionStoreAPI
    from ..sessions.models import Message
    from .index import Index
    from .llm import Generation, LocalModel
    from .retriever import Retriever
    from .served import ServedModel

HISTORY_MESSAGES = 40  # read from the store; the token budget then decides what fits
MIN_SIMILARITY = 0.28  # cosine below which a passage is not about the question (MiniLM); in
# bench/answer_quality.py off-topic questions reached 0.255 at most, in-corpus ones (tuning half) 0.389 at least
CORPUS_DIR = Path(__file__).resolve().parents[2] / "data"  # the user guide, in the checkout

Progress = Callable[[str], None]
STATUS_SECONDS = 0.5  # how often on_status hears the tokens/s while an answer streams
# A model this small (SmolLM2-135M is 0.1 GB) reads evidence sentences rather than passages,
# and writes a short answer: given more, it echoes passage headers and rambles
# (bench/answer_quality.py).
TINY_MODEL_BYTES = 400_000_000
TINY_MODEL_FACTS = 3
TINY_MODEL_MAX_TOKENS = 160
TINY_MODEL_SENTENCES = 2  # asked for one or two: what it writes after them is mostly invented
MIN_ANSWER_WORDS = 3  # fewer, and the answer is quoted from the evidence instead
# A question asked again right after itself (ctrl+r) gets a sampled answer: the first one is
# greedy, so the same every time. A sample identical to an earlier answer is drawn again.
REGENERATE_TEMPERATURE = 0.7
REGENERATE_TRIES = 3
SAME_AGAIN = " (the model gave the same answer again)"


@dataclass
class Answer:
    session_id: str
    text: str
    sources: list[Source]  # every passage the answer was given, marked cited, with its evidence
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retrieval_ms: float = 0.0
    ttft_ms: float = 0.0  # from the question to the first token, retrieval included
    tokens_per_s: float = 0.0
    stopped: bool = False
    evaluated_prompt_tokens: int = 0  # prompt tokens not found in the KV cache
    history_turns: int = 0
    retrieval_query: str = ""
    evidence: list[Evidence] = field(default_factory=list)  # best first
    truncated: bool = False  # cut at the token limit (the text says so at its end)
    question_id: str = ""  # the ids the store gave the question and the answer it saved
    answer_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "question_id": self.question_id,
            "answer_id": self.answer_id,
            "answer": self.text,
            "evidence": [{"n": e.n, "text": e.text} for e in self.evidence],
            "truncated": self.truncated,
            "sources": [s.to_dict() for s in self.sources],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "evaluated_prompt_tokens": self.evaluated_prompt_tokens,
            },
            "timings": {
                "retrieval_ms": round(self.retrieval_ms, 1),
                "ttft_ms": round(self.ttft_ms, 1),
                "tokens_per_s": round(self.tokens_per_s, 1),
            },
        }


def history_turns(messages: Sequence) -> list[Turn]:
    """Question/answer pairs, each with the passages its question was given (kept with the answer).

    Each answer is paired with the question it names (`reply_to`; two devices asking at once
    store Q1 Q2 A1 A2), or, stored before answers named one, with the question before it.
    A regenerated answer replaces the one before it (same question asked again right after);
    a question nothing was found for is left out: it tells the model nothing."""
    turns: list[Turn] = []
    messages = conversation_order(messages)
    for question, answer in zip(messages, messages[1:]):
        if (question.role == "user" and answer.role == "assistant"
                and answer.reply_to in (None, question.id)):
            passages = tuple(Source.from_dicts(answer.sources))
            if answer.content == NOTHING_FOUND:
                continue
            if turns and turns[-1].question.strip() == question.content.strip():
                turns.pop()
            turns.append(Turn(question.content, passages, answer.content))
    return turns


def answers_to_repeat(messages: Sequence, question: str) -> list[str]:
    """The answers `question` got when asked over and over at the end of the session, newest
    first: asking it again (regenerate) should bring something else."""
    answers: list[str] = []
    messages = conversation_order(messages)
    for earlier, later in reversed(list(zip(messages, messages[1:]))):
        if (earlier.role, later.role) == ("assistant", "user"):
            continue  # between two turns
        if (earlier.role, later.role) != ("user", "assistant") or earlier.content.strip() != question.strip():
            break
        answers.append(later.content)
    return answers


class ChatService:
    def __init__(self, store: SessionStoreAPI, settings, *, corpus_dir: Path | None = CORPUS_DIR):
        self.store = store
        self.settings = settings
        self.corpus_dir = corpus_dir
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._model: LocalModel | ServedModel | None = None

    # -- loading ----------------------------------------------------------------------

    def load(self, progress: Progress | None = None) -> None:
        """Embedder, index (the user guide is indexed when the index is empty), model."""
        from .served import choose_model  # a local GGUF file, or a model on a server (llm_url)

        say = progress or (lambda _message: None)
        with self._lock:
            if self._model is not None:
                return
            choice = choose_model(self.settings)  # a bad model file or server fails now, not after indexing
            if self._retriever is None:
                self._retriever = self._load_retriever(say)
            if not choice.server:
                say(f"loading the language model {choice.name}…")
            self._model = choice.load()
            where = f" on {choice.server}" if choice.server else ""
            say(f"ready: {choice.name}{where}, context {self._model.n_ctx} tokens")

    def _loaded(self) -> tuple[Retriever, LocalModel | ServedModel]:
        self.load()
        assert self._retriever is not None and self._model is not None  # load() made both, or raised
        return self._retriever, self._model

    def _load_retriever(self, say: Progress) -> Retriever:
        from .embed import shared_embedder
        from .retriever import Retriever, open_index

        say("loading the embedding model…")
        embedder = shared_embedder(self.settings.threads)
        index = open_index(self.settings.data_dir)
        guide = self.corpus_dir
        if guide and guide.is_dir() and _keeps_the_guide(index, guide):
            from .ingest import Ingester

            def report(p):
                if p.chunks:  # an unchanged guide is only hashed: nothing to say
                    say(f"indexing the ragtui user guide: {p.files_done}/{p.files_total} files, "
                        f"{p.chunks} chunks ({p.chunks_per_s:.0f} chunks/s)")

            summary = Ingester(index, lambda: embedder).ingest([guide], progress=report)
            if summary.added or summary.updated or summary.removed:
                say(f"indexed the ragtui user guide: {summary.summary()}")
        retriever = Retriever(index.open(), embedder)
        retriever.search("warm up", k=1, mode=self.settings.search_mode)  # load index files now, not on the first question
        return retriever

    @property
    def model_info(self) -> dict[str, Any]:
        return self._model.info if self._model is not None else {}

    @property
    def index_info(self) -> dict[str, int]:
        if self._retriever is None:
            return {}
        index = self._retriever.index
        return {"documents": index.document_count(), "chunks": index.chunk_count()}

    # -- asking -----------------------------------------------------------------------

    def ask(
        self,
        session_id: str,
        question: str,
        *,
        on_token: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        use_history: bool = True,
        on_saved: Callable[[Message], None] | None = None,
        on_status: Progress | None = None,
    ) -> Answer:
        """`on_saved(message)` hears each message as it is stored (the question, then the
        answer), so a UI can tell its own messages from other devices' by id. `on_status(str)`
        hears what is happening: searching, reading n passages, then tokens/s."""
        retriever, _ = self._loaded()
        saved = on_saved or (lambda _message: None)
        say = on_status or (lambda _status: None)
        started = time.perf_counter()
        earlier = self.store.get_last_n_messages(session_id, HISTORY_MESSAGES) if use_history else []
        history = history_turns(earlier)
        again = answers_to_repeat(earlier, question)
        if history and history[-1].question.strip() == question.strip():
            history.pop()  # asked again (regenerate): the new answer replaces the old one
        asked = self.store.add_message(session_id, "user", question)  # kept even if generation fails
        saved(asked)

        say("searching the documents…")
        query = retrieval_query(question, history)
        passages = self._relevant(query)
        retrieval_ms = (time.perf_counter() - started) * 1000
        answer = Answer(session_id, "", [], retrieval_ms=retrieval_ms, retrieval_query=query, question_id=asked.id)

        if not passages:  # say so rather than let the model improvise
            answer.text = NOTHING_FOUND
            answer.ttft_ms = (time.perf_counter() - started) * 1000
            if on_token:
                on_token(NOTHING_FOUND)
        elif (name := unknown_name(question, retriever.index.mentions)) is not None:
            rest = without(question, name)  # "…on Ubuntu": the documents may answer the rest
            self._decline(answer, rest, self._relevant(retrieval_query(rest, history)) or passages, name,
                          on_token, started)
        else:
            say(f"reading {len(passages)} passage{'s' if len(passages) > 1 else ''}…")
            self._generate(answer, question, passages, history, on_token, should_stop, say, started, again)
        answered = self.store.add_message(session_id, "assistant", answer.text,
                                          sources=[s.to_dict() for s in answer.sources], reply_to=asked.id)
        answer.answer_id = answered.id
        saved(answered)
        return answer

    def _generate(self, answer, question, passages, history, on_token, should_stop, say, started, again) -> None:
        """`again`: earlier answers to this same question; the new one is sampled and differs from them."""
        retriever, model = self._loaded()
        embedder = retriever.embedder
        prompt, found, given, max_tokens = answer_prompt(
            model, embedder.embed_query, question, passages, history, self.settings.max_tokens,
            embed_many=embedder.embed)
        answer.evidence = shown([e for e in found if any(p.n == e.n for p in given)])
        meter = _TokenRate(say)
        user_stopped = should_stop or (lambda: False)
        generating_at = time.perf_counter()
        for _ in range(REGENERATE_TRIES if again else 1):
            out = _Unlike(again, on_token)
            sampling = {"temperature": REGENERATE_TEMPERATURE, "seed": random.randrange(2**31)} if again else {}
            text, generation = self._write(answer, question, model, prompt, given, max_tokens, meter, out,
                                           user_stopped, sampling)
            if text not in again or answer.stopped:
                break
        else:
            text += SAME_AGAIN  # said, rather than stored twice
            out(SAME_AGAIN)
        out.release()
        answer.text = text
        answer.sources = _with_evidence(given, answer.evidence, cited=cited_numbers(text, len(given)))
        answer.prompt_tokens = generation.prompt_tokens
        answer.evaluated_prompt_tokens = generation.evaluated_prompt_tokens
        answer.completion_tokens = generation.completion_tokens
        answer.tokens_per_s = generation.tokens_per_s
        answer.history_turns = prompt.history_turns
        answer.ttft_ms = (generating_at - started) * 1000 + generation.ttft_ms

    def _relevant(self, query: str) -> list[Source]:
        """The passages found for `query` that are about it, numbered as an answer cites them."""
        retriever = self._loaded()[0]
        hits = retriever.search(query, k=self.settings.top_k, mode=self.settings.search_mode)
        return [dataclasses.replace(hit, n=n)
                for n, hit in enumerate((h for h in hits if h.similarity >= MIN_SIMILARITY), start=1)]

    def _decline(self, answer, question, passages, name, on_token, started) -> None:
        """Say the documents never mention `name`, and quote what comes closest to `question`
        (asked without the name)."""
        embedder = self._loaded()[0].embedder
        answer.evidence = shown(extract(question, passages, embedder.embed_query, limit=TINY_MODEL_FACTS,
                                        embed_many=embedder.embed))
        answer.text = not_mentioned(name, evidence=bool(answer.evidence))
        answer.sources = _with_evidence(passages, answer.evidence, cited=set())
        answer.ttft_ms = (time.perf_counter() - started) * 1000
        if on_token:
            on_token(answer.text)

    @staticmethod
    def _write(answer, question, model, prompt, given, max_tokens, meter, out, user_stopped,
               sampling) -> tuple[str, Generation]:
        """One go at the answer's text, cleaned as it streams to `out`. A tiny model's answer
        is cut to two sentences, and before any code it invented (bench/answer_quality.py:
        about one answer in ten had a script, a package or a command from no passage); its
        leading yes or no, a coin toss at 135M parameters (QA Q38), is not shown."""
        tiny = _is_tiny(model)
        cleaned = AnswerFilter(len(given), out, max_sentences=TINY_MODEL_SENTENCES if tiny else None,
                               grounded=grounded_in(" ".join(p.text for p in given)) if tiny else None,
                               question=question if tiny else None)

        def keep(piece: str) -> None:
            meter.tick()
            cleaned.feed(piece)

        generation = model.generate(prompt.text, max_tokens=max_tokens, on_token=keep,
                                    should_stop=lambda: cleaned.ended or user_stopped(), **sampling)
        text = cleaned.finish()
        answer.stopped = generation.stopped and not cleaned.ended
        if _unusable(text, question) and not answer.stopped and answer.evidence:
            # Nothing usable from the model: the best evidence sentence is the answer.
            best = answer.evidence[0]
            quote = f"{' ' if text else ''}From the documents: “{best.text}” [{best.n}]"
            text += quote
            out(quote)
        answer.truncated = not generation.stopped and generation.completion_tokens >= max_tokens
        if answer.truncated:
            text += truncation_mark(max_tokens)
            out(truncation_mark(max_tokens))
        return text, generation


def _unusable(text: str, question: str) -> bool:
    """Too short to answer, the question said back ("How do I extend a session?"), or stopped
    where it promised more ("Here's how:")."""
    words = re.findall(r"\w+", text.lower())
    return (len(words) < MIN_ANSWER_WORDS or set(words) <= set(re.findall(r"\w+", question.lower()))
            or ends_on_lead_in(text))


def _with_evidence(passages: Sequence[Source], evidence: Sequence[Evidence], *, cited: set[int]) -> list[Source]:
    """The passages as an answer's sources: marked cited, each with its evidence and its rank."""
    ranks = {id(e): rank for rank, e in enumerate(evidence, start=1)}
    return [dataclasses.replace(p, cited=p.n in cited,
                                evidence=tuple((ranks[id(e)], e.text) for e in evidence if e.n == p.n))
            for p in passages]


def _keeps_the_guide(index: Index, guide: Path) -> bool:
    """Whether to bring the built-in user guide up to date in this index: it is empty, or holds
    the guide, alone or beside the user's documents (an upgrade's new guide must reach it;
    unchanged files cost a hash; ingesting the guide's folder touches nothing else). An index of
    the user's own documents only is left alone."""
    folder = os.path.abspath(guide) + os.sep
    sources = index.file_hashes()
    return not sources or any(source.startswith(folder) for source in sources)


def answer_prompt(model, embed, question: str, passages: list[Source], history: Sequence[Turn],
                  max_tokens: int, *, embed_many=None) -> tuple[BuiltPrompt, list[Evidence], list[Source], int]:
    """The prompt for `model`, the evidence found, the passages the sources are numbered
    from, and the token limit. A tiny model is given the evidence sentences, not passages.
    `embed` embeds a text, `embed_many` (optional, faster) a batch: see evidence.extract."""
    tiny = _is_tiny(model)
    max_tokens = min(max_tokens, model.n_ctx // 2, *([TINY_MODEL_MAX_TOKENS] if tiny else []))
    found = extract(question, passages, embed, limit=TINY_MODEL_FACTS, embed_many=embed_many)
    use_facts = tiny and bool(found)
    by_number = {p.n: p for p in passages}
    prompt = build_prompt(
        question, [dataclasses.replace(by_number[e.n], text=e.text) for e in found] if use_facts else passages,
        history, render=model.render, count_tokens=model.count_tokens, budget=model.n_ctx - max_tokens,
        facts=use_facts,
    )
    return prompt, found, passages if use_facts else list(prompt.passages), max_tokens


def _is_tiny(model) -> bool:
    path = getattr(getattr(model, "model", None), "path", None)  # a served model has no file here
    try:
        return path is not None and path.stat().st_size < TINY_MODEL_BYTES
    except OSError:
        return False


class _Unlike:
    """Passes an answer's pieces on to `emit` once it differs from each of `earlier`; until
    then it holds them, so a sample that turns out the same as before is never shown."""

    def __init__(self, earlier: Sequence[str], emit: Callable[[str], None] | None):
        self.earlier = earlier
        self.emit = emit or (lambda _piece: None)
        self.held = ""
        self.differs = not earlier

    def __call__(self, piece: str) -> None:
        if self.differs:
            self.emit(piece)
            return
        self.held += piece
        if not any(answer.startswith(self.held) for answer in self.earlier):
            self.release()

    def release(self) -> None:
        """Pass on what is held: the answer is over, and differs."""
        self.differs = True
        if self.held:
            self.emit(self.held)
            self.held = ""


class _TokenRate:
    """Tells `say` the tokens/s of the answer being written, every STATUS_SECONDS."""

    def __init__(self, say: Progress):
        self.say = say
        self.tokens = 0
        self.first = self.last_said = 0.0

    def tick(self) -> None:
        now = time.perf_counter()
        self.tokens += 1
        if self.tokens == 1:
            self.first = self.last_said = now
            self.say("writing…")
        elif now - self.last_said >= STATUS_SECONDS:
            self.last_said = now
            self.say(f"writing… {(self.tokens - 1) / (now - self.first):.0f} tokens/s")
