"""What `doctor` and the stats pane say about how a Redis server treats sessions: whether
its maxmemory-policy may evict them, and whether its certificate is checked."""
from __future__ import annotations

from . import redis_auth

SAFE_POLICY = "noeviction"


def eviction_risk(policy: str | None) -> tuple[bool, str]:
    """(ok, one line) for a maxmemory-policy: `allkeys-*` may drop any session; `volatile-*`
    only keys with a TTL, so pinned sessions and the listings stay but an idle session may
    go before its time; `noeviction` refuses writes instead (ragtui keeps them locally)."""
    if not policy:
        return True, "maxmemory-policy unknown (this Redis user may not read INFO)"
    if policy == SAFE_POLICY:
        return True, "maxmemory-policy noeviction: when full, Redis refuses writes and ragtui keeps them locally"
    if policy.startswith("volatile-"):
        return True, (f"maxmemory-policy {policy}: when full, Redis may drop sessions that have a TTL before it "
                      "runs out (pinned ones and the listings stay); noeviction keeps them all")
    return False, (f"maxmemory-policy {policy}: when full, Redis evicts any key, sessions and their messages "
                   "included: set maxmemory-policy noeviction")


def pane_warnings(stats) -> list[tuple[str, str]]:
    """The stats pane's warnings, (label, short text): a policy that evicts sessions, an
    unchecked certificate."""
    found = []
    policy = (stats.server or {}).get("maxmemory_policy")
    if not eviction_risk(policy)[0]:
        found.append(("⚠ evicts", f"{policy} may drop sessions: use noeviction"))
    if redis_auth.tls_warning(stats.location or ""):
        found.append(("⚠ TLS", "the server's certificate is not checked"))
    return found


def checks(stats) -> list[tuple[str, bool, str]]:
    """doctor's Redis checks, from a Redis store's stats (its location is the masked URL)."""
    found = [("redis memory", *eviction_risk(stats.server.get("maxmemory_policy")))]
    if warning := redis_auth.tls_warning(stats.location):
        found.append(("redis TLS", False, warning))
    elif redis_auth.uses_tls(stats.location):
        found.append(("redis TLS", True, "the server's certificate is checked"))
    return found
