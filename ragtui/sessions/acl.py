"""The Redis ACL rule that confines one user to their own sessions (`ragtui sessions acl`).

Keys: all of the user's own (one pattern, thanks to layout v2), reading the layout version,
and writing — never reading — the admin listing. Commands: reading and writing data,
scripts, transactions, their own events channel, INFO for the stats pane, and what redis-py
needs to connect (also to a cluster). Not: anything that names keys without taking them
as arguments (SCAN, RANDOMKEY, KEYS, PUBSUB CHANNELS), nor any @dangerous command.
"""
from __future__ import annotations

import hashlib
import re

from ..errors import RagtuiError
from .keys import Keys

COMMANDS = (
    "-@all", "+@read", "+@write", "+@transaction", "+@connection", "+@scripting", "+@pubsub",
    "-@dangerous", "+info", "+role", "+cluster|slots", "+cluster|shards", "+cluster|nodes",
    "-scan", "-randomkey", "-pubsub", "-function", "-script|kill", "-script|flush",
)
_NAME = re.compile(r"[A-Za-z0-9_.@+=-]{1,128}")  # an ACL user name redis-cli takes unquoted


def setuser_line(user: str, namespace: str = "ragtui", password: str | None = None) -> str:
    """`ACL SETUSER …` for `user`. With `password`, only its SHA-256 goes in the line; without,
    the user's existing passwords are kept (add one with ACL SETUSER USER >PASSWORD)."""
    if not _NAME.fullmatch(user):
        raise RagtuiError(f"cannot make a Redis ACL user named {user!r}: use letters, digits and _ . @ + = -")
    if user == "default":
        raise RagtuiError("'default' is Redis's own user (every client without a name): give each person a user of their own")
    secret = [f"#{hashlib.sha256(password.encode()).hexdigest()}"] if password else []
    rules = ["on", *secret, "resetkeys", "resetchannels", *Keys(namespace).acl_patterns(user), *COMMANDS]
    return " ".join(["ACL", "SETUSER", user, *rules])
