"""One suite, every backend: tests that take `store` run against Redis, a Redis Cluster,
local and memory."""
from __future__ import annotations

import pytest

from ragtui.sessions import open_store

BACKENDS = ("redis", "cluster", "local", "memory")


@pytest.fixture
def make_store(request, tmp_path):
    """Open stores of one backend; later calls reach the same data (a restart, a 2nd device)."""
    opened = []

    def make(backend: str, **options):
        if backend == "redis":
            target = request.getfixturevalue("redis_url")
        elif backend == "cluster":  # 3 masters: every user's keys may sit on another node
            target = request.getfixturevalue("cluster_url")
        else:
            target = backend
        store = open_store(target, data_dir=tmp_path / "data", **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        try:
            store.close()
        except Exception:
            pass


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=("redis", "local"))
def shared_backend(request):
    """Backends whose data outlives the process and is shared between clients."""
    return request.param


@pytest.fixture
def store(make_store, backend):
    return make_store(backend)
