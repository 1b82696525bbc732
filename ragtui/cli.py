"""Command line: global flags, subcommands, and the app when no command is given.

Each group of subcommands lives in `ragtui.commands.<group>` and exposes
`register(subparsers)`; a command's handler is `func(settings, args) -> int`.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sys

from . import paths
from .config import Settings, load_settings
from .errors import RagtuiError
from .safe_text import TerminalFormatter, one_line
from .secrets import MaskingFilter, hide_from_process_list, mask

COMMAND_GROUPS = ("ragtui.commands.sessions", "ragtui.commands.rag")


# Settings a flag can set, before the command or after it (`ragtui ask --store local …`).
GLOBAL_OPTIONS: list[tuple[tuple[str, ...], dict]] = [
    (("--store",), dict(help="auto (default), redis, local, memory, or a Redis URL")),
    (("--redis-url",), dict(dest="redis_url", help="Redis URL (redis://, rediss://, unix://, redis+cluster://, redis+sentinel://)")),
    (("--user",), dict(help="whose sessions (default: the OS user)")),
    (("--ttl",), dict(type=int, help="idle seconds before a session expires (0 = never)")),
    (("--data-dir",), dict(dest="data_dir", help="where the index and local store live")),
    (("--model",), dict(help="GGUF file path or name of a model in models/")),
    (("--llm-url",), dict(dest="llm_url",
                          help="use a model on an OpenAI-compatible server instead, e.g. http://localhost:8080/v1")),
    (("--llm-model",), dict(dest="llm_model", help="which of the server's models (default: its only one)")),
    (("--admin",), dict(action="store_true", help="act for every user (the app opens on the admin panel)")),
]


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """`commands=False`: the global flags only, without importing the command groups."""
    parser = argparse.ArgumentParser(
        prog="ragtui",
        description="Chat with your own documents, offline. With no command, opens the app.",
        add_help=commands,
        exit_on_error=commands,
    )
    for flags, options in GLOBAL_OPTIONS:
        parser.add_argument(*flags, **options)
    if not commands:
        return parser
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_GROUPS:
        importlib.import_module(module_name).register(subparsers)
    _accept_global_options_after_commands(parser)
    return parser


def _accept_global_options_after_commands(parser: argparse.ArgumentParser) -> None:
    """Every command (and sub-command) takes the global flags too. Their default there is
    SUPPRESS, so a flag given before the command is not reset by the command's parser; a
    command's own option of the same name (`sessions extend --ttl`) keeps its meaning."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in {id(p): p for p in action.choices.values()}.values():  # aliases: once
            group = command.add_argument_group("global options (also accepted before the command)")
            for flags, options in GLOBAL_OPTIONS:
                if not any(flag in command._option_string_actions for flag in flags):
                    group.add_argument(*flags, **options, default=argparse.SUPPRESS)
            _accept_global_options_after_commands(command)


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(vars(args))


def make_app(settings: Settings, *, admin: bool = False):
    """The real app with its real collaborators (tests build theirs with fakes)."""
    from .tui.app import build_app

    return build_app(settings, admin=admin)


def setup_logging(full_screen: bool) -> None:
    """Warnings go to stderr as one line each; in the app, stderr is the screen: use a file."""
    if full_screen:
        log_file = paths.ensure_private_dir(paths.log_dir()) / "ragtui.log"
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(TerminalFormatter("ragtui: %(message)s"))
    handler.addFilter(MaskingFilter())  # no password in a log line, whatever a library put there
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Most runs open the app with global flags only: those parse without importing every
    command group (~50 ms before the first frame); anything else gets the full parser."""
    try:
        args, rest = build_parser(commands=False).parse_known_args(argv)
    except argparse.ArgumentError:
        rest = ["(let the full parser report it)"]
    if not rest:
        args.command = None
        return args
    return build_parser().parse_args(argv)


def refuse_undecodable(args: argparse.Namespace) -> None:
    """Bytes that are not UTF-8 in an argument (a mangled paste) can name no session and be
    stored nowhere: say so in one line instead of failing deep inside with a traceback."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str):
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise RagtuiError(f"{name.replace('_', ' ')} is not valid UTF-8: {one_line(text)}") from None


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # this process's own command line (tests pass theirs)
        hide_from_process_list(sys.argv)
    args = parse_args(argv)
    try:
        setup_logging(full_screen=args.command is None)
        refuse_undecodable(args)
        settings = settings_from_args(args)
        if args.command is None:
            # Importing Textual and building the screen allocate ~300k objects that live as
            # long as the app: collecting them cost ~60 ms before the first frame, one full
            # collection ~35 ms of it. The app turns collection back on after its first frame.
            gc.disable()
            app = make_app(settings, admin=args.admin)
            app.run()
            if app.startup_error:  # the store could not be opened, e.g. no Redis at --store redis://…
                raise RagtuiError(app.startup_error)
            return 0
        return int(args.func(settings, args) or 0)
    except BrokenPipeError:  # `ragtui ... | head` closed the pipe: not an error
        return 0
    except (RagtuiError, OSError) as exc:
        print(f"ragtui: {one_line(mask(str(exc)))}", file=sys.stderr)  # ids, file names: inert; no password
        return 2
    except KeyboardInterrupt:
        print("ragtui: interrupted", file=sys.stderr)
        return 130
