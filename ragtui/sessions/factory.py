"""open_store: pick a backend from a mode or a URL and hand back a ready store."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import fakeredis
import redis

from .. import paths
from .failover import FailoverStore
from .journal import Journal
from .models import StoreError, StoreUnavailable
from .store import SessionStore

log = logging.getLogger(__name__)

MODES = ("auto", "redis", "local", "memory")
URL_SCHEMES = ("redis://", "rediss://", "unix://")
CONNECT_TIMEOUT = 0.5  # auto mode must not make the app wait for a Redis that isn't there


def _redis_url(explicit: str | None) -> str:
    return explicit or os.environ.get("RAGTUI_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://localhost:6379/0"


def _redis_client(url: str) -> redis.Redis:
    try:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=5,
            health_check_interval=30,
        )
    except ValueError as exc:
        raise StoreError(f"bad Redis URL {url!r}: {exc}") from None


def _fake_client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


def _local_store(data_dir: Path, name: str, **options) -> SessionStore:
    paths.ensure_private_dir(data_dir)
    journal_path = paths.ensure_private_dir(paths.store_dir(data_dir)) / f"{name}.journal"
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
):
    """A session store for `target`: a mode (auto, redis, local, memory) or a Redis URL."""
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

    url = _redis_url(redis_url)
    primary = SessionStore(_redis_client(url), backend="redis", location=url, **options)
    try:
        primary.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        primary.close()
        if target == "redis":
            raise StoreUnavailable(f"Redis at {url} is unreachable ({exc}); start it, or use --store local") from None
        log.warning("Redis at %s is unreachable: keeping sessions in the local store instead", url)
        store = _local_store(data_dir, "sessions", **options)
        store.fallback_reason = f"Redis at {url} is unreachable"
        return store
    except redis.RedisError as exc:  # e.g. a password is needed
        primary.close()
        raise StoreUnavailable(f"Redis at {url}: {exc}") from None
    return FailoverStore(primary, _local_store(data_dir, "outbox", **options))


def open_store_from_settings(settings):
    store = settings.store
    return open_store(
        store,
        ttl=settings.ttl,
        max_messages=settings.max_messages,
        namespace=settings.namespace,
        data_dir=settings.data_dir,
        redis_url=settings.redis_url,
    )
