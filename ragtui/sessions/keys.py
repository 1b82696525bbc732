"""Every Redis key and channel name ragtui uses: one place for the store, the migration, the
ACL line and the docs test.

Layout v2 groups keys by owner. All of one user's keys carry the hash tag `{u:<user>}`, so
they share one Redis Cluster slot (one message stays one atomic script) and one ACL key
pattern confines a user to them:

    {ns}:{u:<user>}:session:<sid>            HASH  user_id, title, created_at, pinned, model (of the latest answer)
    {ns}:{u:<user>}:session:<sid>:messages   LIST  JSON messages, oldest first, trimmed to max_messages
    {ns}:{u:<user>}:session:<sid>:ids        ZSET  message id -> timestamp, the newest max_messages
    {ns}:{u:<user>}:sessions                 ZSET  sid -> last activity (Unix s): the user's listing
    {ns}:{u:<user>}:expiry                   ZSET  sid -> deadline (Unix ms, +inf = never)
    {ns}:{u:<user>}:sizes                    HASH  sid -> messages held
    {ns}:{u:<user>}:counts                   HASH  sessions, messages, changes (every change +1)
    {ns}:{u:<user>}:events                   channel: one JSON line per change

The all-users (admin) listing lives apart, written after a create or delete (never by the
per-message script) and repaired lazily (a read drops a session that is gone; the admin's
stats put back one the users' listings hold and it lacks):

    {ns}:{admin}:sessions                    ZSET  sid -> creation time (Unix s)
    {ns}:{admin}:owners                      HASH  sid -> user
    {ns}:{admin}:users                       ZSET  user -> first session's creation time
    {ns}:layout                              STRING  the layout version ("2")

The user part is percent-quoted: an id holding `{`, `}`, `:` or a glob character cannot
reach into another user's keys or widen an ACL pattern.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

LAYOUT_VERSION = 2


@lru_cache(maxsize=4096)  # quoting is a third of a message's Python time otherwise
def tag(user: str) -> str:
    """The user's part of a key: their hash tag."""
    return "{u:" + quote(str(user), safe="") + "}"


class Keys:
    def __init__(self, namespace: str = "ragtui") -> None:
        self.ns = namespace

    # --------------------------------------------------------- one user's keys
    def user_prefix(self, user: str) -> str:
        return f"{self.ns}:{tag(user)}"

    def meta(self, user: str, sid: str) -> str:
        return f"{self.user_prefix(user)}:session:{sid}"

    def messages(self, user: str, sid: str) -> str:
        return f"{self.meta(user, sid)}:messages"

    def ids(self, user: str, sid: str) -> str:
        return f"{self.meta(user, sid)}:ids"

    def sessions(self, user: str) -> str:
        return f"{self.user_prefix(user)}:sessions"

    def expiry(self, user: str) -> str:
        return f"{self.user_prefix(user)}:expiry"

    def sizes(self, user: str) -> str:
        return f"{self.user_prefix(user)}:sizes"

    def counts(self, user: str) -> str:
        return f"{self.user_prefix(user)}:counts"

    def events(self, user: str) -> str:
        return f"{self.user_prefix(user)}:events"

    def session_keys(self, user: str, sid: str) -> list[str]:
        """What every session script takes, in this order (see store.py's scripts)."""
        return [self.meta(user, sid), self.messages(user, sid), self.ids(user, sid), self.sessions(user),
                self.expiry(user), self.sizes(user), self.counts(user)]

    def user_keys(self, user: str) -> list[str]:
        """The per-user indexes and counters (the prune script's keys)."""
        return [self.sessions(user), self.expiry(user), self.sizes(user), self.counts(user)]

    # ------------------------------------------------------------ admin, apart
    @property
    def all_sessions(self) -> str:
        return f"{self.ns}:{{admin}}:sessions"

    @property
    def owners(self) -> str:
        return f"{self.ns}:{{admin}}:owners"

    @property
    def users(self) -> str:
        return f"{self.ns}:{{admin}}:users"

    @property
    def layout(self) -> str:
        return f"{self.ns}:layout"

    # ------------------------------------------------------------------- ACL
    def acl_patterns(self, user: str) -> list[str]:
        """ACL selectors confining `user` to their own keys: all of theirs, their events
        channel, reading the layout version, and writing (not reading) the admin listing."""
        return [f"~{self.user_prefix(user)}:*", f"&{self.events(user)}",
                f"%R~{self.layout}", f"%W~{self.ns}:{{admin}}:*"]


# Layout v1 (ragtui before the by-owner layout), read only by the migration.
class LegacyKeys:
    def __init__(self, namespace: str = "ragtui") -> None:
        self.ns = namespace

    def meta(self, sid: str) -> str:
        return f"{self.ns}:session:{{{sid}}}"

    def messages(self, sid: str) -> str:
        return f"{self.meta(sid)}:messages"

    def ids(self, sid: str) -> str:
        return f"{self.meta(sid)}:ids"

    def user_index(self, user: str) -> str:
        return f"{self.ns}:user:{{{user}}}:sessions"

    @property
    def all_sessions(self) -> str:
        return f"{self.ns}:sessions"
