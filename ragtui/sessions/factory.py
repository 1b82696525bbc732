"""open_store: pick a backend from a mode or a URL and hand back a ready store."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .. import paths
from ..secrets import mask
from . import redis_auth, redis_errors
from .failover import FailoverStore
from .journal import Journal
from .models import StoreError, StoreUnavailable
from .store import SessionStore

log = logging.getLogger(__name__)

MODES = ("auto", "redis", "local", "memory")
URL_SCHEMES = ("redis://", "rediss://", "unix://")
CONNECT_TIMEOUT = 0.5  # auto mode must not make the app wait for a Redis that isn't there
REDIS_TIMEOUT = 1.0  # an interactive call that takes longer is saved locally instead
OUTBOX_CAP = 2**31 - 1  # messages pending per session: all of them


def _redis_url(explicit: str | None) -> str:
    return explicit or os.environ.get("RAGTUI_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://localhost:6379/0"


def _redis_client(url: str, timeout: float, options: dict) -> redis.Redis:
    try:
        return redis.Redis.from_url(
            url,
            **redis_auth.options_for(url, options),
            decode_responses=True,
            socket_connect_timeout=min(CONNECT_TIMEOUT, timeout),
            socket_timeout=timeout,
            # one immediate retry on a fresh connection (a pooled one may have died with a
            # restarted server), none after a timeout: a paused server would cost one each
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            health_check_interval=30,
        )
    except ValueError as exc:
        raise StoreError(f"bad Redis URL {mask(url)!r}: {exc}") from None


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
):
    """A session store for `target`: a mode (auto, redis, local, memory) or a Redis URL.
    `redis_options`: more keyword arguments for redis-py (password, TLS files), kept off the URL."""
    target = target or "auto"
    options = {"ttl": ttl, "max_messages": max_messages, "namespace": namespace}
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    if target.startswith(URL_SCHEMES):
        redis_url, target = target, "redis"
    if target not in MODES:
        raise StoreError(f"unknown store {target!r}: use one of {', '.join(MODES)} or a redis:// URL")
    if target == "memory":
        return SessionStore(_fake_client(), backend="memory", location="this process", **options)
    if target == "local":
        return _local_store(data_dir, "sessions", **options)

    full_url = _redis_url(redis_url)
    url = mask(full_url)
    if warning := redis_auth.tls_warning(full_url):
        log.warning("Redis at %s: %s", url, warning)
    client = _redis_client(full_url, redis_timeout, redis_options or {})
    primary = SessionStore(client, backend="redis", location=url, **options)
    unreachable = None
    try:
        primary.ping()
    except redis.RedisError as exc:
        # only an outage is ridden out locally (auto); a wrong password or certificate is not
        if target == "redis" or not redis_errors.is_outage(exc):
            primary.close()
            hint = "; start it, or use --store local" if redis_errors.is_outage(exc) else ""
            raise StoreUnavailable(redis_errors.explain(exc, url) + hint) from None
        unreachable = "Redis is unreachable"  # auto: start degraded, replay once it answers
    # the outbox neither expires nor trims what it holds: Redis does, once it is replayed
    outbox = _local_store(data_dir, "outbox", **{**options, "ttl": None, "max_messages": OUTBOX_CAP})
    if target == "auto":
        try:
            _move_local_sessions(data_dir, outbox, **options)
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
                outbox.add_message(sid, m.role, m.content, m.sources, message_id=m.id, timestamp=m.timestamp)
            if session.pinned:
                outbox.defer(sid, "pin_session")
            local.clear_session(sid)
        if local.count_sessions() == 0:
            os.replace(journal_path, journal_path.with_name("sessions.journal.moved"))
            log.warning("moved the sessions kept locally while Redis was down into the outbox; "
                        "they go to Redis once it answers")
    finally:
        local.close()


def open_store_from_settings(settings):
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
    )
