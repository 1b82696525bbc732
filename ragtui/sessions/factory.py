"""open_store: pick a backend from a mode or a URL and hand back a ready store."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import fakeredis
import redis

from .. import paths
from ..secrets import mask, shown_url, user_only
from . import redis_auth, redis_errors
from .connection import SCHEMES, connect, replica_wait
from .failover import FailoverStore
from .journal import Journal
from .models import StoreError, StoreUnavailable
from .store import SessionStore

log = logging.getLogger(__name__)

MODES = ("auto", "redis", "local", "memory")
URL_SCHEMES = tuple(f"{scheme}://" for scheme in SCHEMES)
CONNECT_TIMEOUT = 0.5  # auto mode must not make the app wait for a Redis that isn't there
REDIS_TIMEOUT = 1.0  # an interactive call that takes longer is saved locally instead
OUTBOX_CAP = 2**31 - 1  # messages pending per session: all of them


def _redis_url(explicit: str | None) -> str:
    return explicit or os.environ.get("RAGTUI_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://localhost:6379/0"


def _fake_client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


def _local_store(data_dir: Path, name: str, **options) -> SessionStore:
    journal_path = paths.store_dir(data_dir) / f"{name}.journal"
    try:
        paths.ensure_private_dir(data_dir)
    except OSError:
        pass  # a read-only data dir: the journal opens read-only and says what that means
    try:
        journal = Journal(journal_path)
    except OSError as exc:
        raise StoreError(f"cannot open the local store at {journal_path}: {exc.strerror}") from None
    return SessionStore(_fake_client(), backend="local", location=str(journal_path), journal=journal, **options)


def open_store(
    target: str | None = None,
    *,
    ttl: int | None = 3600,
    max_messages: int = 1000,
    namespace: str = "ragtui",
    data_dir: Path | str | None = None,
    redis_url: str | None = None,
    redis_timeout: float = REDIS_TIMEOUT,
    redis_options: dict | None = None,
    user: str | None = None,
    wait_replicas: int | None = None,
    wait_timeout_ms: int | None = None,
):
    """A session store for `target`: a mode (auto, redis, local, memory) or a Redis URL.
    `redis_options`: more keyword arguments for redis-py (password, TLS files), kept off the URL.
    `wait_replicas`: replicas a write must reach before it counts as saved (None: one where the
    deployment has replicas); `wait_timeout_ms`: how long to wait for them (None: half of
    `redis_timeout`, so a missing replica is told apart from a stalled call)."""
    target = target or "auto"
    # `user`: the store acts for that user only (another user's session ids are not found);
    # None: for everyone (admin). The outbox and the old local journal hold every user's.
    options: dict[str, Any] = {"ttl": ttl, "max_messages": max_messages, "namespace": namespace, "user": user}
    everyone = {**options, "user": None}
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    if target.startswith(URL_SCHEMES):
        redis_url, target = target, "redis"
    if target not in MODES:
        raise StoreError(f"unknown store {mask(target)!r}: use one of {', '.join(MODES)} or a Redis URL "
                         f"({', '.join(URL_SCHEMES)})")
    if target == "memory":
        return SessionStore(_fake_client(), backend="memory", location="this process", **options)
    if target == "local":
        return _local_store(data_dir, "sessions", **options)

    full_url = _redis_url(redis_url)
    client_options = redis_auth.options_for(full_url, redis_options or {})
    password_given = "password" in client_options
    url = shown_url(full_url, password_given=password_given)
    bare_user = user_only(full_url, password_given=password_given)  # redis-cli's way to give a password?
    if warning := redis_auth.tls_warning(full_url):
        log.warning("Redis at %s: %s", url, warning)
    try:
        deployment = connect(full_url, timeout=redis_timeout, connect_timeout=CONNECT_TIMEOUT, wait_replicas=wait_replicas,
                             options=client_options, reach_later=target == "auto")
    except redis.RedisError as exc:  # a cluster client must reach a node to exist at all (but in auto)
        hint = "; start it, or use --store local" if redis_errors.is_outage(exc) else ""
        raise StoreUnavailable(redis_errors.explain(exc, url, user_only=bare_user) + hint) from None
    primary = SessionStore(deployment.client, backend="redis", location=deployment.location, **options)
    if wait := replica_wait(deployment, wait_timeout_ms or max(1, int(redis_timeout * 500))):
        primary.after_write = wait
    unreachable = None
    try:
        primary.ping()
    except redis.RedisError as exc:
        # only an outage is ridden out locally (auto); a wrong password or certificate is not
        if target == "redis" or not redis_errors.is_outage(exc):
            primary.close()
            hint = "; start it, or use --store local" if redis_errors.is_outage(exc) else ""
            raise StoreUnavailable(redis_errors.explain(exc, url, user_only=bare_user) + hint) from None
        unreachable = "Redis is unreachable"  # auto: start degraded, replay once it answers
    else:
        primary.ensure_layout()  # the first start of layout v2 moves sessions kept in v1
    # the outbox neither expires nor trims what it holds: Redis does, once it is replayed
    outbox = _local_store(data_dir, "outbox", **{**everyone, "ttl": None, "max_messages": OUTBOX_CAP})
    if target == "auto":
        try:
            _move_local_sessions(data_dir, outbox, **everyone)
        except StoreError as exc:  # e.g. a read-only data dir: they stay put, and readable
            log.warning("sessions kept locally by an older ragtui stay where they are for now: %s", exc)
    replay_lock = paths.store_dir(data_dir) / "outbox.replay.lock"
    return FailoverStore(primary, outbox, replay_lock=replay_lock, unreachable=unreachable)


def _move_local_sessions(data_dir: Path, outbox: SessionStore, **options) -> None:
    """Queue for Redis the sessions older versions kept in the local store when auto mode
    started with Redis down (they were never replayed); the emptied journal is kept aside."""
    journal_path = paths.store_dir(data_dir) / "sessions.journal"
    if not journal_path.exists() or journal_path.stat().st_size == 0:
        return
    local = _local_store(data_dir, "sessions", **options)
    try:
        for session in local.get_all_active_sessions(None, limit=1 << 30):
            sid = session.id
            if outbox.get_session(sid) is None:
                outbox.create_session(session.user_id, session.title or None, session_id=sid)
            for m in local.get_conversation_history(sid):  # ids kept: a second pass adds nothing
                outbox.add_message(sid, m.role, m.content, m.sources, message_id=m.id, timestamp=m.timestamp,
                                   reply_to=m.reply_to)
            if session.pinned:
                outbox.defer(sid, "pin_session")
            local.clear_session(sid)
        if local.count_sessions() == 0:
            os.replace(journal_path, journal_path.with_name("sessions.journal.moved"))
            log.warning("moved the sessions kept locally while Redis was down into the outbox; "
                        "they go to Redis once it answers")
    finally:
        local.close()


def open_store_from_settings(settings, *, admin: bool = False):
    """The store acting for `settings.user`, or for every user when `admin`."""
    store = settings.store
    return open_store(
        store,
        ttl=settings.ttl,
        max_messages=settings.max_messages,
        namespace=settings.namespace,
        data_dir=settings.data_dir,
        redis_url=settings.redis_url,
        redis_timeout=settings.redis_timeout,
        redis_options=redis_auth.client_options(settings),
        user=None if admin else settings.user,
        wait_replicas=settings.redis_wait_replicas,
        wait_timeout_ms=settings.redis_wait_timeout_ms,
    )
