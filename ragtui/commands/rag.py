"""`ragtui ingest`, `ragtui search`, `ragtui ask`, `ragtui models`: the RAG engine from a shell.

Answers stream to stdout as they are generated; progress and timings go to stderr, so
stdout can be piped. Document and model text is untrusted: control characters are
removed before it reaches the terminal.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from ..errors import RagtuiError
from ..formatting import format_count
from ..safe_text import clean as safe  # documents and answers must not drive the terminal
from ..safe_text import json_line, one_line
from ..source import Source, answer_notes


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ingest", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (recursively)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and start over")
    p.add_argument("--python-docs", action="store_true", help="also index the Python language reference")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_ingest)

    p = subparsers.add_parser("search", help="search the index (no model needed)")
    p.add_argument("words", nargs="+", metavar="WORD",
                   help="what to search for, as one query; - reads one query a line from stdin")
    p.add_argument("-k", type=int, dest="k", help="results per query (default: setting top_k, 5)")
    p.add_argument("--mode", choices=("hybrid", "vector", "fts"), help="default: hybrid")
    p.add_argument("--json", action="store_true", help="one JSON line per query")
    p.set_defaults(func=cmd_search)

    p = subparsers.add_parser("ask", help="ask a question; the answer streams, then its sources")
    p.add_argument("question", nargs="+", metavar="QUESTION")
    p.add_argument("--session", help="continue this session (default: start a new one)")
    p.add_argument("--no-history", action="store_true", help="ignore the conversation so far")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    p.set_defaults(func=cmd_ask)

    p = subparsers.add_parser("models", help="list the GGUF models ragtui can use, or the server's (--llm-url)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)


# -- ingest ---------------------------------------------------------------------------


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal; a line every few seconds otherwise."""

    def __init__(self, label: str, stream=sys.stderr, width: int = 24):
        self.label, self.stream, self.width = label, stream, width
        self.interactive = stream.isatty()
        self._last_draw = 0.0
        self._last_line = ""

    def update(self, progress) -> None:
        now = time.monotonic()
        finished = progress.fraction >= 1
        if not finished and now - self._last_draw < (0.1 if self.interactive else 5.0):
            return
        filled = int(self.width * min(progress.fraction, 1))  # moves inside a big file too
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{progress.files_done}/{progress.files_total} files  "
                f"{progress.chunks_indexed}/{progress.chunks} chunks  {progress.chunks_per_s:.0f} chunks/s")
        if line == self._last_line:
            return
        self._last_draw, self._last_line = now, line
        self.stream.write(("\r" + line + "\x1b[K") if self.interactive else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive and self._last_draw:
            self.stream.write("\n")


def cmd_ingest(settings, args) -> int:
    if not args.paths and not args.python_docs and not args.rebuild:
        raise RagtuiError("nothing to ingest: give one or more PATHs, or --python-docs")
    from ..rag.embed import shared_embedder
    from ..rag.ingest import Ingester
    from ..rag.retriever import open_index

    index = open_index(settings.data_dir)
    bar = ProgressBar("indexing")
    try:
        report = Ingester(index, lambda: shared_embedder(settings.threads)).ingest(
            args.paths, python_docs=args.python_docs, rebuild=args.rebuild, progress=bar.update,
        )
    finally:
        bar.close()
    for path, reason in report.skipped:
        print(f"skipped {one_line(path)}: {one_line(reason)}", file=sys.stderr)
    if args.json:
        print(json_line({**report.to_dict(), "documents": index.document_count(),
                         "total_chunks": index.chunk_count()}))
    else:
        print(report.summary())
        print(f"index: {format_count(index.document_count(), 'document')}, "
              f"{format_count(index.chunk_count(), 'chunk')} in {index.directory}")
    return 0


# -- search ---------------------------------------------------------------------------


MAX_RESULTS = 1000


def cmd_search(settings, args) -> int:
    from ..rag.embed import shared_embedder
    from ..rag.retriever import Retriever, open_index

    if args.k is not None and not 1 <= args.k <= MAX_RESULTS:
        raise RagtuiError(f"-k must be between 1 and {MAX_RESULTS:,}, not {one_line(str(args.k), 24)}")
    from_stdin = args.words == ["-"]  # a script's many queries, the model loaded once
    if not from_stdin and not " ".join(args.words).strip():
        raise RagtuiError("the query is empty")
    index = open_index(settings.data_dir)
    if index.chunk_count() == 0:
        raise RagtuiError("the index is empty: add documents with `ragtui ingest PATH` first")
    retriever = Retriever(index, shared_embedder(settings.threads))  # loaded once for all queries
    k = args.k or settings.top_k
    mode = args.mode or settings.search_mode
    queries = (line.strip() for line in sys.stdin) if from_stdin else iter([" ".join(args.words).strip()])
    for query in filter(None, queries):
        hits = retriever.search(query, k=k, mode=mode)
        if args.json:
            # one line per query whatever the names: json_line escapes what a terminal acts on
            print(json_line({"query": query, "results": [h.to_dict() for h in hits]}), flush=True)
            continue
        print(f"{one_line(query)}  ({mode}, {len(hits)} results)")
        for hit in hits:
            snippet = one_line(hit.text)[:160]
            print(f"  {hit.n}. {hit.score:.4f}  {one_line(hit.title)} — {one_line(hit.source)} ({one_line(hit.location)})")
            print(f"     {snippet}")
        print(flush=True)
    return 0


# -- ask ------------------------------------------------------------------------------


def cmd_ask(settings, args) -> int:
    from ..assembly import open_chat
    from ..sessions import SessionNotFound

    question = " ".join(args.question).strip()
    if not question:
        raise RagtuiError("the question is empty")
    store, service = open_chat(settings)
    try:
        if args.session and store.get_session(args.session) is None:
            raise SessionNotFound(
                f"session {args.session} not found (expired or deleted); "
                "`ragtui sessions list` shows yours, or leave out --session to start a new one"
            )
        service.load(progress=_stderr_progress())
        model = str(service.model_info.get("name", ""))
        session_id = args.session or store.create_session(settings.user, model=model)  # none left empty by a failed load
        history = not args.no_history
        answer = (service.ask(session_id, question, use_history=history) if args.json
                  else _ask_streaming(service, session_id, question, use_history=history))
        if model:  # the answer is stored: say who wrote it
            store.set_session_model(session_id, model)
    finally:
        store.close()
    if args.json:
        print(json_line(answer.to_dict()))
        return 0
    print_notes(answer.sources)
    if not args.session:
        print(f"\nsession {session_id} — continue it with: ragtui ask --session {session_id} QUESTION")
    print(
        f"{answer.completion_tokens} tokens, {answer.tokens_per_s:.1f} tokens/s, first token after "
        f"{answer.ttft_ms:.0f} ms (retrieval {answer.retrieval_ms:.0f} ms); prompt {answer.prompt_tokens} "
        f"tokens, {answer.evaluated_prompt_tokens} evaluated, {answer.history_turns} turns of history",
        file=sys.stderr,
    )
    return 0


def _stderr_progress():
    interactive = sys.stderr.isatty()

    def say(message: str) -> None:
        message = one_line(message)  # it may name a file or a served model: never terminal escapes
        if interactive:
            sys.stderr.write("\r" + message + "\x1b[K")
            if message.startswith(("ready", "indexed")):
                sys.stderr.write("\n")
        else:
            sys.stderr.write(message + "\n")
        sys.stderr.flush()

    return say


def _ask_streaming(service, session_id: str, question: str, *, use_history: bool):
    """Ctrl-C stops the answer, not the program: what was generated is still saved."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())

    def write(piece: str) -> None:
        sys.stdout.write(safe(piece))
        sys.stdout.flush()

    try:
        answer = service.ask(session_id, question, on_token=write, should_stop=stop.is_set, use_history=use_history)
    finally:
        signal.signal(signal.SIGINT, previous)
    if answer.stopped:
        sys.stdout.write(" [stopped]")
    sys.stdout.write("\n")
    return answer


def print_notes(sources: Sequence[Source]) -> None:
    """The sentences an answer rests on, quoted from its passages (extracted, not generated),
    then its sources; `ragtui sessions show` prints a stored answer's the same way."""
    for heading, lines in answer_notes(sources):
        print(f"\n{heading}:")
        for line in lines:
            print(f"  {line}")


# -- models ---------------------------------------------------------------------------


def cmd_models(settings, args) -> int:
    if settings.llm_url:
        return _served_models(settings, args)
    from ..rag.models import available_models, model_folders, resolve_model

    models = available_models(settings.data_dir)
    try:
        selected = resolve_model(settings.model, settings.data_dir).path
    except RagtuiError:
        selected = None
    if args.json:
        print(json_line([{**m.to_dict(), "selected": m.path == selected} for m in models]))
        return 0
    for m in models:
        mark = "*" if m.path == selected else " "
        print(f"{mark} {m.name:<40} {m.size / 2**20:>7.0f} MiB  {m.origin}\n    {m.path}")
    if selected is not None and all(m.path != selected for m in models):
        print(f"* {selected} (--model)")
    print("\n* = used by default. Add a model: put a .gguf file in one of", file=sys.stderr)
    for _, folder in model_folders(settings.data_dir):
        print(f"    {folder}", file=sys.stderr)
    return 0


def _served_models(settings, args) -> int:
    from ..rag.served import ServedModel

    server = ServedModel.from_settings(settings)
    try:
        names = [str(entry["id"]) for entry in server.list_models()]
    finally:
        server.close()
    selected = settings.llm_model or (names[0] if len(names) == 1 else None)
    if args.json:
        print(json_line([{"name": n, "server": server.shown_url, "selected": n == selected} for n in names]))
        return 0
    for name in names:
        print(f"{'*' if name == selected else ' '} {safe(name)}")
    print(f"\nserved by {server.shown_url}; * = used. Choose with --llm-model NAME", file=sys.stderr)
    if selected is not None and selected not in names:
        print(f"--llm-model {safe(selected)!r} is not among them", file=sys.stderr)
    return 0
