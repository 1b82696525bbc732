"""Redis clients for the deployments ragtui runs on: one server, Redis Cluster, Sentinel.

    redis://[user:pass@]host:port/db  rediss://…  unix:///path/redis.sock   one server
    redis+cluster://[user:pass@]host[:port][,host[:port]…]                Redis Cluster (port 6379)
    redis+sentinel://[user:pass@]host[:port][,…]/MASTER[/db]              the master Sentinel names (26379)

(`rediss+cluster://`, `rediss+sentinel://`: the same over TLS.) A plain `redis://` URL that
points at a cluster node is detected and gets a cluster client. A cluster client needs a node
that answers to exist at all: with `reach_later`, a cluster none of whose nodes answers yet
gets a `PendingCluster` that keeps trying at each use (auto mode starts on the local store).

Replication is asynchronous, so a write a master acknowledged can die with it when a replica
is promoted. `replica_wait` closes that gap: after each write the store sends `WAIT`, and a
write that did not reach the replicas in time is reported as not saved (the failover store
keeps it in its local outbox and re-sends it; message ids make the re-send idempotent).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, cast
from urllib.parse import unquote, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, NodesManager, RedisCluster
from redis.commands.core import Script
from redis.connection import ConnectionPool, Encoder, parse_url
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool

from ..secrets import shown_url
from . import redis_errors
from .models import StoreError, StoreUnavailable

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
SCHEMES = ("redis", "rediss", "unix") + CLUSTER_SCHEMES + SENTINEL_SCHEMES
LAST_WAIT = 0.001  # what a spent deadline leaves a reply already on its way (0 would not block at all)

_call = threading.local()  # .started: when this thread's interactive call began (monotonic)


@contextmanager
def one_deadline() -> Iterator[None]:
    """All waits on Redis inside (connects, commands, a script's reload, retries) share one
    socket timeout, counted from here: a call of several round trips to a Redis that answers
    each just in time still gives up within `redis_timeout` in all, and the caller keeps its
    write locally. A nested one runs on the outer one's clock."""
    if getattr(_call, "started", None) is not None:
        yield
        return
    _call.started = time.monotonic()
    try:
        yield
    finally:
        _call.started = None


class _WithinDeadline:
    """A connection whose waits end at the calling thread's `one_deadline` (if any): its
    timeouts are what is left of it, and a command is not sent once it has passed."""

    _socket_timeout: float | None
    _socket_connect_timeout: float | None

    def _left(self) -> float | None:
        started = getattr(_call, "started", None)
        if started is None or self._socket_timeout is None:
            return None
        return started + self._socket_timeout - time.monotonic()

    @property
    def socket_timeout(self) -> float | None:
        left = self._left()
        return self._socket_timeout if left is None else max(left, LAST_WAIT)

    @socket_timeout.setter
    def socket_timeout(self, value: float | None) -> None:
        self._socket_timeout = value

    @property
    def socket_connect_timeout(self) -> float | None:
        left, own = self._left(), self._socket_connect_timeout
        return own if left is None else max(left if own is None else min(own, left), LAST_WAIT)

    @socket_connect_timeout.setter
    def socket_connect_timeout(self, value: float | None) -> None:
        self._socket_connect_timeout = value

    def _fit(self) -> None:
        """The socket's timeout to what is left now (it was set when it connected)."""
        sock = getattr(self, "_sock", None)
        if sock is not None:
            sock.settimeout(self.socket_timeout)

    def send_packed_command(self, command, check_health=True):
        left = self._left()
        if left is not None and left <= 0:  # not sent: the caller saves its write locally
            raise redis.TimeoutError("the call's Redis deadline passed before this command was sent")
        self._fit()
        return super().send_packed_command(command, check_health)  # type: ignore[misc]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        self._fit()
        return super().read_response(*args, **kwargs)  # type: ignore[misc]


_bounded: dict[type, type] = {}


def _within_deadline(connection_class: type) -> type:
    """`connection_class` (plain, TLS, unix socket, Sentinel-managed) with `_WithinDeadline`."""
    if issubclass(connection_class, _WithinDeadline):
        return connection_class
    if connection_class not in _bounded:
        _bounded[connection_class] = type(connection_class.__name__, (_WithinDeadline, connection_class), {})
    return _bounded[connection_class]


class AffinePool(ConnectionPool):
    """A pool that hands each thread the connection it used last, when that one is free, and
    whose connections keep to the thread's `one_deadline`.

    WAIT counts only the writes of the connection it is sent on: it must follow the
    store's write on the same connection, even when other threads share the pool.
    Without WAIT (`affine` False) it is a plain pool: the bookkeeping costs every command."""

    affine = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last = threading.local()
        self.connection_class = _within_deadline(self.connection_class)

    def last_connection(self):
        """The connection this thread was handed last (None before its first command)."""
        return getattr(self._last, "connection", None)

    def get_connection(self, *args: Any, **kwargs: Any):
        if not self.affine:
            return super().get_connection(*args, **kwargs)
        with self._lock:
            last = self.last_connection()
            if last is not None and last in self._available_connections:
                self._available_connections.remove(last)
                self._available_connections.append(last)  # the pool pops from the end
        # another thread may pop it first: then WAIT runs elsewhere, and `replica_wait` sees it
        connection = super().get_connection(*args, **kwargs)
        self._last.connection = connection
        return connection


class AffineSentinelPool(AffinePool, SentinelConnectionPool):
    pass


def _error_behind(exc: RedisClusterException) -> redis.RedisError | None:
    """The Redis error that made the cluster client give up: the failure that started a
    reload of its node map, if that was an outage, else the one the reload met last."""
    started, last = exc.__context__, exc.__cause__
    if isinstance(started, redis.RedisError) and redis_errors.is_outage(started):
        return started
    if isinstance(last, redis.RedisError) and not isinstance(last, RedisClusterException):
        return last
    return None


class _NodeMap(NodesManager):
    """A cluster client's node map whose reload, reaching no node, fails as the outage it is.

    After a timeout or a refused connection the client reloads its node map before it
    raises. The reload asks the nodes on their pools' connections (`AffinePool`), so inside
    a write it has what is left of the write's `one_deadline`: nothing, after a timeout that
    spent it, and a whole cluster may be down. redis-py then says RedisClusterException
    ("cannot be connected"), which is no ConnectionError: the failover store would pass it
    to the caller instead of keeping the write locally (and a read would fail instead of
    showing what this machine knows). The reload is tried again on the next failure."""

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().initialize(*args, **kwargs)
        except RedisClusterException as exc:
            behind = _error_behind(exc)
            if behind is None:
                raise
            raise behind from exc


class _Cluster(RedisCluster):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # builds its NodesManager itself: made a _NodeMap here
        self.nodes_manager.__class__ = _NodeMap


class PendingCluster:
    """The client of a Redis Cluster none of whose nodes answered yet: each use tries to reach
    it again, failing like an unreachable server until a node answers (so the failover store's
    probe finds it back); from then on it hands every call to the cluster's client."""

    sharded = True  # what it stands for: SessionStore picks sharded pub/sub and no script pipelines

    def __init__(self, reach: Callable[[], RedisCluster]) -> None:
        self._reach = reach
        self._lock = threading.Lock()  # one attempt at a time
        self._client: RedisCluster | None = None

    def _reached(self) -> RedisCluster:
        with self._lock:
            if self._client is None:
                self._client = self._reach()  # raises redis.ConnectionError while no node answers
            return self._client

    def __getattr__(self, name: str) -> Any:  # the client's commands
        return getattr(self._reached(), name)

    def register_script(self, script: str) -> Script:  # hashed now, sent at its first call
        # a stand-in for the client: Script calls only what this forwards (and get_encoder)
        return Script(cast(RedisCluster, self), script)

    def get_encoder(self) -> Encoder:  # what Script hashes a script's text with
        return Encoder(encoding="utf-8", encoding_errors="strict", decode_responses=True)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


@dataclass
class Deployment:
    """A ready client and what it is connected to."""

    client: Any  # redis.Redis, or redis.cluster.RedisCluster
    kind: str  # "redis" | "cluster" | "sentinel"
    location: str  # the URL as shown: no password
    replicas: int  # replicas a write can wait for (per master), as found on connecting

    @property
    def cluster(self) -> bool:
        return self.kind == "cluster"


def _nodes(url: str, default_port: int) -> tuple[str, str, list[tuple[str, int]], str, str]:
    """(scheme, userinfo, [(host, port)…], path, query) of a URL naming one or more hosts."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    nodes = []
    for node in hosts.split(","):
        host, colon, port = node.rpartition(":") if not node.endswith("]") else (node, "", "")
        if not colon:
            host, port = node, str(default_port)
        if not host or not port.isdigit():
            raise ValueError(f"{node!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    return parts.scheme, userinfo, nodes, parts.path, parts.query


def _node_url(scheme: str, userinfo: str, host: str, port: int, path: str, query: str) -> str:
    host = f"[{host}]" if ":" in host else host  # IPv6
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((scheme.split("+")[0], netloc, path, query, ""))


def connect(url: str, *, timeout: float, connect_timeout: float, wait_replicas: int | None = None,
            options: dict[str, Any] | None = None, reach_later: bool = False) -> Deployment:
    """A client for `url` (see the module docstring). `wait_replicas` None: wait for one
    replica wherever the deployment has one (Sentinel, a cluster with replicas), else none.
    `reach_later`: a cluster no node of which answers now gets a `PendingCluster`."""
    options = {"decode_responses": True, "socket_timeout": timeout,
               "socket_connect_timeout": min(connect_timeout, timeout), **(options or {})}
    scheme = url.split("://", 1)[0].lower()
    location = shown_url(url, password_given="password" in options)
    try:
        if scheme in CLUSTER_SCHEMES:
            try:
                deployment = _cluster(url, location, options)
            except redis.RedisError as exc:
                if not (reach_later and redis_errors.is_outage(exc)):
                    raise
                deployment = _pending_cluster(url, location, options, wait_replicas)
        elif scheme in SENTINEL_SCHEMES:
            deployment = _sentinel(url, location, options)
        elif scheme in ("redis", "rediss", "unix"):
            deployment = _single(url, location, options)
        else:
            raise ValueError(f"use one of {', '.join(s + '://' for s in SCHEMES)}")
    except (ValueError, TypeError) as exc:
        raise StoreError(f"bad Redis URL {location!r}: {exc}") from None
    if wait_replicas is not None:
        deployment.replicas = wait_replicas
    if deployment.replicas <= 0 and not deployment.cluster:  # no WAIT to follow a write
        deployment.client.connection_pool.affine = False
    return deployment


def _retry() -> Retry:
    # one immediate retry on a fresh connection (a pooled one may have died with a restarted
    # server, or Sentinel's pool found its master demoted), none after a timeout: a paused
    # server would cost one each
    return Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


def _single(url: str, location: str, options: dict[str, Any]) -> Deployment:
    pool = AffinePool.from_url(url, retry=_retry(), health_check_interval=30, **options)
    client = redis.Redis(connection_pool=pool)
    try:  # a cluster node answers single-key commands only for its own slots: detect it
        is_node = client.info("cluster").get("cluster_enabled") == 1
    except redis.RedisError:
        is_node = False  # unreachable, or INFO is not allowed: the first ping says which
    if not is_node:
        return Deployment(client, "redis", location, 0)
    client.close()
    return _cluster(url, f"{location} (Redis Cluster)", options)


def _cluster(url: str, location: str, options: dict[str, Any]) -> Deployment:
    scheme, userinfo, nodes, path, query = _nodes(url, 6379)
    if scheme in ("redis", "rediss"):  # a node found by `_single`
        nodes = [nodes[0]]
    first = _node_url(scheme, userinfo, *nodes[0], path, query)
    try:
        # no retry on the cluster's own: each one re-reads the topology and waits out a paused
        # node again (11 s for one call with the default 3); a failed call goes to the outbox
        client = _Cluster(url=first, startup_nodes=[ClusterNode(h, p) for h, p in nodes[1:]],
                          retry=Retry(NoBackoff(), 0), connection_pool_class=AffinePool, **options)
    except RedisClusterException as exc:  # no node answered: an outage like any other
        if (behind := _error_behind(exc)) is not None:
            raise behind from None
        raise redis.ConnectionError(f"Redis Cluster at {location}: {exc}") from None
    try:  # CLUSTER NODES, not the client's slot map: CLUSTER SLOTS leaves a replica out until
        # its master has written something
        flags = [str(m["flags"]) for m in client.cluster_nodes().values()]  # "slave,fail…"
        replicas = 1 if any("slave" in f and "fail" not in f for f in flags) else 0
    except redis.ResponseError:  # not allowed to this Redis user: the slot map is what we know
        replicas = 1 if client.get_replicas() else 0
    return Deployment(client, "cluster", location, replicas)


def _pending_cluster(url: str, location: str, options: dict[str, Any], wait_replicas: int | None) -> Deployment:
    """A cluster to reach later; its replicas (for `replica_wait`) are counted once it answers."""
    deployment = Deployment(None, "cluster", location, 0)

    def reach() -> RedisCluster:
        reached = _cluster(url, location, options)
        deployment.replicas = reached.replicas if wait_replicas is None else wait_replicas
        return reached.client

    deployment.client = PendingCluster(reach)
    return deployment


def _sentinel(url: str, location: str, options: dict[str, Any]) -> Deployment:
    scheme, userinfo, nodes, path, query = _nodes(url, 26379)
    segments = [unquote(s) for s in path.split("/") if s]
    if not segments or len(segments) > 2 or (len(segments) == 2 and not segments[1].isdigit()):
        raise ValueError("name the master: redis+sentinel://host:port[,host:port…]/MASTER[/db]")
    service = segments[0]
    # the password, TLS and db of the URL are the master's; sentinels get the timeouts
    master_options = parse_url(_node_url(scheme, userinfo, *nodes[0], "/" + "/".join(segments[1:]), query))
    for key in ("host", "port"):
        master_options.pop(key, None)
    if master_options.pop("connection_class", None) is not None:  # rediss: TLS to the master
        master_options["ssl"] = True
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    # a Sentinel that doesn't answer is skipped at once: the next one in the URL is asked
    sentinel = Sentinel(nodes, sentinel_kwargs={**timeouts, "retry": Retry(NoBackoff(), 0)}, **timeouts)
    client = sentinel.master_for(service, connection_pool_class=AffineSentinelPool, retry=_retry(),
                                 health_check_interval=30, **{**options, **master_options})
    try:
        sentinel.discover_master(service)
        replicas = 1 if sentinel.discover_slaves(service) else 0
    except MasterNotFoundError:  # no Sentinel answers yet: expect what Sentinel is for, a replica
        replicas = 1
    return Deployment(client, "sentinel", location, replicas)


def replica_wait(deployment: Deployment, timeout_ms: int) -> Callable[[str], None] | None:
    """The store's `after_write` hook: WAIT until the write reached `deployment.replicas`
    replicas, or raise StoreUnavailable (the write is then kept locally and sent again).
    None when there is nothing to wait for."""
    client = deployment.client
    if deployment.replicas <= 0 and not isinstance(client, PendingCluster):
        return None

    def wait(key: str) -> None:
        wanted = deployment.replicas  # a pending cluster's: known once it answered
        if wanted <= 0:
            return
        node = client.get_node_from_key(key) if deployment.cluster else None
        pool = node.redis_connection.connection_pool if node else client.connection_pool
        wrote_on = pool.last_connection()
        reached = client.execute_command("WAIT", wanted, timeout_ms, **({"target_nodes": node} if node else {}))
        if pool.last_connection() is not wrote_on:  # another thread held it: WAIT counted other writes
            raise StoreUnavailable("a write could not be confirmed on a Redis replica")
        if reached < wanted:
            if deployment.kind == "sentinel":  # ask who the master is now; idle connections
                client.connection_pool.get_master_address()  # to a demoted one are dropped
            raise StoreUnavailable(f"a write reached {reached} of {wanted} Redis replica(s) in {timeout_ms} ms")

    return wait
