"""Global options work before the command and after it, for every command."""
from __future__ import annotations

import argparse

import pytest

from ragtui import cli

VALUES = {"--ttl": "120"}  # options that want a number; the others take any text
SWITCHES = {flags[0] for flags, options in cli.GLOBAL_OPTIONS if options.get("action") == "store_true"}

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
    value = "True" if flag in SWITCHES else VALUES.get(flag, "x-value")
    given = [flag] if flag in SWITCHES else [flag, value]
    before = vars(cli.parse_args([*given, *command]))
    after = vars(cli.parse_args([*command, *given]))
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


@pytest.mark.parametrize("where", ["before", "after the group", "after the action"])
def test_admin_acts_for_everyone_wherever_it_is_given(capsys, redis_url, where):
    """README: `sessions show … --admin: anyone's`. Bob's store finds alice's session only as
    admin, with --admin before the command, between `sessions` and its action, or at the end
    (it was refused after the command: 'unrecognized arguments: --admin')."""
    from ragtui.sessions import open_store

    store = open_store(redis_url)
    sid = store.create_session("alice", "Alice's chat")
    store.close()
    common = ["--store", redis_url, "--user", "bob"]
    show = {"before": ["--admin", *common, "sessions", "show", sid, "--json"],
            "after the group": [*common, "sessions", "--admin", "show", sid, "--json"],
            "after the action": [*common, "sessions", "show", "--admin", sid, "--json"]}[where]
    assert cli.main(show) == 0
    assert '"title": "Alice\'s chat"' in capsys.readouterr().out
    assert cli.main([*common, "sessions", "show", sid]) == 2  # without it: bob's sessions only
    assert f"no session {sid}" in capsys.readouterr().err


def test_stats_after_the_command_with_admin_counts_everyones(capsys, redis_url):
    from ragtui.sessions import open_store

    store = open_store(redis_url)
    store.create_session("alice", "Alice's chat")
    store.close()
    common = ["--store", redis_url, "--user", "bob", "--json"]
    assert cli.main(["stats", *common]) == 0
    assert '"sessions": 0' in capsys.readouterr().out  # bob's own
    assert cli.main(["stats", *common, "--admin"]) == 0
    assert '"sessions": 1' in capsys.readouterr().out
