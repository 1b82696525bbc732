"""Fixtures shared by every test directory: a real redis-server and store factories."""
from __future__ import annotations

import os

import pytest
import redis

from tests.redis_server import RedisClusterServers, RedisServer, SentinelServers, require_binary

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The fast tier (`make test-fast`) leaves out tests that load a model, drive tmux or start a
# Redis Cluster (six servers per test process). They are marked here from the fixtures they
# use (transitively) or the backend they run on, so no test has to remember it.
TIER_FIXTURES = {
    "model": {"embedder", "local_model", "llama_server"},
    "tmux": {"tmux_binary"},
    "cluster": {"redis_cluster", "cluster_url"},
}


SHARED_PER_WORKER = ("model", "cluster")  # a session fixture each xdist worker would start again


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in TIER_FIXTURES.items():
            if used & fixtures:
                item.add_marker(marker)
        if getattr(item, "callspec", None) and "cluster" in item.callspec.params.values():
            item.add_marker("cluster")  # the store suite's cluster backend, asked for at run time
        # `make test` runs in parallel with --dist loadgroup: the tests on a model or on the
        # cluster go to one worker each, so each is loaded or started once, not once per worker.
        for marker in SHARED_PER_WORKER:
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.xdist_group(marker))
                break


@pytest.fixture(scope="session")
def tmux_binary():
    """tmux's path, for tests that run the real binary in a terminal (skipped locally
    without it, failed under CI)."""
    return require_binary("tmux")


@pytest.fixture(scope="session", autouse=True)
def shared_cache_dir(tmp_path_factory):
    """One cache for the whole session (and the processes it starts): the query encoder is
    exported once, not once per test."""
    os.environ["RAGTUI_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real redis-server for the whole test session, on a free port."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The shared server, emptied before each test so tests don't see each other's keys."""
    if redis_server.process.poll() is not None:  # a test killed it: bring it back
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    """Each test gets its own data and config dirs: nothing touches the user's real ones."""
    monkeypatch.setenv("RAGTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAGTUI_CONFIG", str(tmp_path / "config.toml"))
    for name in ("RAGTUI_STORE", "RAGTUI_REDIS_URL", "REDIS_URL", "RAGTUI_USER", "RAGTUI_TTL",
                 "RAGTUI_LLM_URL", "RAGTUI_LLM_MODEL", "RAGTUI_LLM_API_KEY", "RAGTUI_LLM_API_KEY_FILE",
                 "RAGTUI_MODEL", "RAGTUI_N_GPU_LAYERS", "RAGTUI_REDIS_PASSWORD", "RAGTUI_REDIS_PASSWORD_FILE",
                 "RAGTUI_REDIS_SSL_CA_CERTS", "RAGTUI_REDIS_SSL_CERTFILE", "RAGTUI_REDIS_SSL_KEYFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A local Redis Cluster (3 masters, a replica each), started only by the tests that need it."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(redis_cluster):
    """The shared cluster, healthy and emptied before each test."""
    redis_cluster.wait_healthy()
    redis_cluster.flushall()
    return redis_cluster.url


@pytest.fixture
def redis_sentinel(tmp_path):
    """A master, its replica and a Sentinel (cheap to start: a failover test gets its own)."""
    servers = SentinelServers(tmp_path / "sentinel")
    try:
        yield servers.start()
    finally:
        servers.stop()
