"""Global options work before the command and after it, for every command."""
from __future__ import annotations

import argparse

import pytest

from ragtui import cli

VALUES = {"--ttl": "120"}  # options that want a number; the others take any text

COMMANDS = [
    ["ask", "why?"],
    ["search", "ports"],
    ["ingest", "docs"],
    ["models"],
    ["stats"],
    ["doctor"],
    ["sessions", "list"],
    ["sessions", "show", "abc"],
    ["sessions", "export", "abc"],
]


def subcommand_paths(parser: argparse.ArgumentParser, prefix=()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found += subcommand_paths(sub, (*prefix, name))
    return found


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("flags", [flags for flags, _ in cli.GLOBAL_OPTIONS], ids=lambda f: f[0])
def test_a_global_option_means_the_same_before_and_after_the_command(command, flags):
    flag = flags[0]
    value = VALUES.get(flag, "x-value")
    before = vars(cli.parse_args([flag, value, *command]))
    after = vars(cli.parse_args([*command, flag, value]))
    assert before == after
    dest = flag.lstrip("-").replace("-", "_")
    assert str(after[dest]) == value


def test_every_command_takes_every_global_option():
    parser = cli.build_parser()
    paths = subcommand_paths(parser)
    assert ("sessions", "list") in paths and ("ask",) in paths
    for path in paths:
        node = parser
        for name in path:
            node = next(a for a in node._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
        missing = [flags[0] for flags, _ in cli.GLOBAL_OPTIONS if flags[0] not in node._option_string_actions]
        assert missing == [], f"ragtui {' '.join(path)} does not take {missing}"


def test_given_before_and_not_after_it_is_kept():
    args = cli.parse_args(["--store", "memory", "--user", "bob", "sessions", "list", "--limit", "3"])
    assert (args.store, args.user, args.limit) == ("memory", "bob", 3)


def test_a_commands_own_option_of_the_same_name_keeps_its_meaning():
    args = cli.parse_args(["--ttl", "600", "sessions", "extend", "abc", "--ttl", "60"])
    assert (args.ttl, args.extend_ttl) == (600, 60)


def test_options_after_the_command_reach_the_store(capsys):
    """`ragtui stats --store memory`: the memory store answers (before, the flag was refused)."""
    assert cli.main(["stats", "--store", "memory", "--json"]) == 0
    assert '"backend": "memory"' in capsys.readouterr().out
