"""`ragtui sessions …`, `ragtui stats`, `ragtui doctor`: the session store from a shell."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..config import MAX_TTL, Settings, describe
from ..conversation import conversation_order
from ..errors import RagtuiError
from ..formatting import format_ago, format_bytes, format_count, format_ttl
from ..rag.health import checks as model_checks
from ..safe_text import clean, json_line, one_line
from ..secrets import mask
from ..sessions import SessionNotFound, SessionStoreAPI
from ..sessions.export import FORMATS, export_session
from ..source import Source
from .rag import print_notes

MAX_LIMIT = 100_000
MAX_OFFSET = 1 << 31


def store_for(settings: Settings, args=None) -> SessionStoreAPI:
    """The store acting for --user, or for everyone with --admin (or `list --all`)."""
    from ..sessions.factory import open_store_from_settings  # redis-py: only for the commands that use it

    return open_store_from_settings(settings, admin=bool(getattr(args, "admin", False) or getattr(args, "all", False)))


def register(subparsers: argparse._SubParsersAction) -> None:
    sessions = subparsers.add_parser("sessions", help="list, show, export, delete, extend, rename, pin sessions")
    actions = sessions.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = actions.add_parser("list", help="this user's sessions, most recent first")
    p.add_argument("--all", action="store_true", help="every user's sessions (admin)")
    p.add_argument("--search", metavar="TEXT",
                   help="only sessions whose title or messages contain TEXT (with --all/--admin: whose owner, id or title does)")
    p.add_argument("--limit", type=int, default=50, help="how many to show (default 50)")
    p.add_argument("--offset", type=int, default=0, help="how many to skip, newest first (default 0)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("show", help="a session's messages")
    p.add_argument("session_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = actions.add_parser("export", help="a session as Markdown or JSON")
    p.add_argument("session_id")
    p.add_argument("--format", choices=FORMATS, default="md")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = actions.add_parser("delete", help="delete a session and its messages")
    p.add_argument("session_id")
    p.set_defaults(func=cmd_delete)

    p = actions.add_parser("extend", help="restart a session's idle countdown")
    p.add_argument("session_id")
    p.add_argument("--ttl", dest="extend_ttl", type=int, help="seconds (default: the configured TTL)")
    p.set_defaults(func=cmd_extend)

    p = actions.add_parser("rename", help="give a session a new title")
    p.add_argument("session_id")
    p.add_argument("title")
    p.set_defaults(func=cmd_rename)

    p = actions.add_parser("pin", help="keep a session forever (--off to let it expire again)")
    p.add_argument("session_id")
    p.add_argument("--off", action="store_true")
    p.set_defaults(func=cmd_pin)

    p = actions.add_parser("acl", help="the Redis ACL SETUSER line that confines USER to their own sessions")
    p.add_argument("acl_user", metavar="USER")
    p.add_argument("--password-file", help="also set the password in this file (only its SHA-256 is printed)")
    p.set_defaults(func=cmd_acl)

    p = actions.add_parser("migrate", help="move sessions kept by an older ragtui to today's Redis key layout")
    p.set_defaults(func=cmd_migrate)

    p = subparsers.add_parser("stats", help="the session store as an operator sees it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = subparsers.add_parser("doctor", help="check Redis, the data dir, the model and the index")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)


def _in_range(flag: str, value: int | None, low: int, high: int, hint: str = "") -> None:
    """Refuse a number that would do harm (a negative TTL expires the session at once)."""
    if value is not None and not low <= value <= high:
        shown = one_line(str(value), 24)
        raise RagtuiError(f"{flag} must be between {low:,} and {high:,}, not {shown}{hint}")


def _say_backend(store) -> None:
    if getattr(store, "fallback_reason", None) or store.backend == "memory":
        print(f"ragtui: sessions: {one_line(store.describe())}", file=sys.stderr)


def cmd_list(settings: Settings, args) -> int:
    _in_range("--limit", args.limit, 1, MAX_LIMIT)
    _in_range("--offset", args.offset, 0, MAX_OFFSET)
    store = store_for(settings, args)
    _say_backend(store)
    everyone = store.user is None  # --all or --admin
    total = None
    if args.search and everyone:  # every user's: by owner, id or title, as the admin panel's filter
        sessions = store.find_sessions(args.search, args.limit, args.offset)
    elif args.search:
        sessions = store.search_sessions(settings.user, args.search, limit=args.offset + args.limit)[args.offset:]
    else:
        sessions = store.get_all_active_sessions(None, args.limit, args.offset)
        total = store.count_sessions()
    if args.json:
        print(json_line([s.to_dict() for s in sessions]))
        return 0
    if not sessions:  # during an outage that is what this machine knows, not what Redis holds
        print("no sessions known on this machine" if getattr(store, "fallback_reason", None) else "no sessions")
        return 0
    for s in sessions:
        mark = "📌" if s.pinned else "  "
        owner = f"{one_line(s.user_id)}  " if everyone else ""
        print(f"{mark} {one_line(s.id)}  {owner}{s.message_count:>4} msgs  {format_ago(time.time() - s.last_activity):>8}  "
              f"ttl {format_ttl(s.ttl):>8}  {one_line(s.title) or '(untitled)'}")
    print(_showing(len(sessions), args.offset, total, args.limit))
    return 0


def _showing(shown: int, offset: int, total: int | None, limit: int) -> str:
    """"showing 50 of 10,000 (1-50; next: --offset 50)": where this page is in the listing."""
    if total is None:  # a search stops once it has a page: how many more match is not known
        more = f"; next: --offset {offset + shown}" if shown == limit else ""
        return f"showing {shown:,} found ({offset + 1:,}-{offset + shown:,}{more})"
    more = f"; next: --offset {offset + shown}" if offset + shown < total else ""
    return f"showing {shown:,} of {total:,} ({offset + 1:,}-{offset + shown:,}{more})"


def _session_or_fail(store, sid: str):
    session = store.get_session(sid)
    if session is None:
        raise SessionNotFound(f"no session {one_line(sid)} (it may have expired; see `ragtui sessions list`)")
    return session


def cmd_show(settings: Settings, args) -> int:
    store = store_for(settings, args)
    session = _session_or_fail(store, args.session_id)
    messages = conversation_order(store.get_conversation_history(args.session_id))  # answers under questions
    if args.json:
        print(json_line({"session": session.to_dict(), "messages": [m.to_dict() for m in messages]}))
        return 0
    model = f", model {one_line(session.model)}" if session.model else ""
    print(f"{one_line(session.title) or '(untitled)'} — {format_count(session.message_count, 'message')}, "
          f"ttl {format_ttl(session.ttl)}{model}")
    for m in messages:
        print(f"\n{m.role}:\n{clean(m.content)}")
        print_notes(Source.from_dicts(m.sources))
    return 0


def cmd_export(settings: Settings, args) -> int:
    store = store_for(settings, args)
    session = _session_or_fail(store, args.session_id)
    text = export_session(session, store.get_conversation_history(args.session_id), args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"exported {format_count(session.message_count, 'message')} to {one_line(args.output)}")
    else:  # exact into a pipe or a file; on a terminal, nothing it would act on
        sys.stdout.write(clean(text) if sys.stdout.isatty() else text)
    return 0


def cmd_delete(settings: Settings, args) -> int:
    store = store_for(settings, args)
    if not store.clear_session(args.session_id):
        raise SessionNotFound(f"no session {one_line(args.session_id)}")
    print(f"deleted {one_line(args.session_id)}")
    return 0


def cmd_extend(settings: Settings, args) -> int:
    _in_range("--ttl", args.extend_ttl, 1, MAX_TTL, "; to keep a session forever: ragtui sessions pin SESSION_ID")
    store = store_for(settings, args)
    left = store.extend_session(args.session_id, args.extend_ttl)
    sid = one_line(args.session_id)
    print(f"{sid}: expires in {format_ttl(left)}" if left else f"{sid}: never expires")
    return 0


def cmd_rename(settings: Settings, args) -> int:
    store = store_for(settings, args)
    store.rename_session(args.session_id, args.title)
    print(f"renamed {one_line(args.session_id)}")
    return 0


def cmd_pin(settings: Settings, args) -> int:
    store = store_for(settings, args)
    (store.unpin_session if args.off else store.pin_session)(args.session_id)
    print(f"{'unpinned' if args.off else 'pinned'} {one_line(args.session_id)}")
    return 0


def cmd_acl(settings: Settings, args) -> int:
    from ..sessions.acl import setuser_line
    from ..sessions.redis_auth import read_password

    password = read_password(Path(args.password_file), "--password-file") if args.password_file else None
    print(setuser_line(args.acl_user, settings.namespace, password))
    return 0


def cmd_migrate(settings: Settings, args) -> int:
    store = store_for(settings, args)
    if store.backend != "redis":
        print("nothing to migrate: the local store's journal is read into the current layout on every start")
        return 0
    moved = store.migrate_layout()
    print(f"moved {moved:,} session(s) to the current key layout" if moved else "all sessions already use the current key layout")
    return 0


def cmd_stats(settings: Settings, args) -> int:
    store = store_for(settings, args)
    stats = store.get_session_stats()
    if args.json:
        print(json_line(stats.to_dict()))
        return 0
    print(f"backend   {one_line(store.describe())}")
    print(f"health    {stats.health}")
    if getattr(store, "fallback_reason", None):  # Redis is not answering: these are only what is known here
        print(f"sessions  ? (Redis unreachable; {stats.sessions:,} known here)")
        print(f"messages  ? (Redis unreachable; {stats.messages:,} known here)")
    else:
        print(f"sessions  {stats.sessions:,}")  # scripts read --json
        print(f"messages  {stats.messages:,}")
        print(f"users     {stats.users:,}")
    if stats.memory_bytes is not None:
        print(f"memory    {format_bytes(stats.memory_bytes)}")
    for key, value in stats.server.items():
        print(f"{key:<9} {one_line(str(value))}")
    return 0


def _check_data_dir(settings: Settings) -> tuple[str, bool, str]:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".ragtui-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return ("data dir", False, f"{path}: {exc.strerror}")
    mode = oct(os.stat(path).st_mode & 0o777)
    return ("data dir", True, f"{path} (writable, mode {mode})")


def _check_store(settings: Settings) -> list[tuple[str, bool, str]]:
    """The store answers; on Redis also how it treats sessions when full, and its TLS."""
    from ..sessions import redis_checks

    try:
        store = store_for(settings)
        started = time.perf_counter()
        store.ping()
        ms = (time.perf_counter() - started) * 1000
        ok = store.backend != "memory" and not getattr(store, "fallback_reason", None)
        checks = [("session store", ok, f"{store.describe()} (ping {ms:.1f} ms)")]
        if ok and store.backend == "redis":
            checks += redis_checks.checks(store.get_session_stats())
        store.close()
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        return [("session store", False, mask(str(exc)))]
    return checks


def cmd_doctor(settings: Settings, args) -> int:
    checks: list[tuple[str, bool | None, str]] = [*_check_store(settings), _check_data_dir(settings)]
    checks += model_checks(settings)
    # ok None: it works, but read the detail (⚠): it does not fail the doctor
    if args.json:
        print(json_line({"settings": describe(settings),
                         "checks": [{"name": n, "ok": ok is not False, "warning": ok is None, "detail": d}
                                    for n, ok, d in checks]}))
    else:
        for name, ok, detail in checks:
            print(f"{'✗' if ok is False else '⚠' if ok is None else '✓'} {name:<14} {one_line(str(detail))}")
    return 1 if any(ok is False for _, ok, _ in checks) else 0
