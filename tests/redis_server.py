"""A real redis-server for the tests: own port, own directory, stoppable and restartable."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis


def require_binary(name: str) -> str:
    """The binary's path; skip locally when it is missing, but fail under CI=true."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed (apt-get install -y {name})"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path, *, appendonly: bool = False, password: str | None = None,
                 args: tuple[str, ...] = ()):
        self.executable = require_binary("redis-server")
        self.directory = directory
        self.appendonly = appendonly
        self.password = password  # --requirepass; `url` then carries it
        self.args = args  # more redis-server options, e.g. --tls-port …
        self.port = free_port()
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--daemonize", "no",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always",
            "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            *(["--requirepass", self.password] if self.password else []), *self.args,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:  # wait for the server's readiness, not a fixed sleep
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}")
                time.sleep(0.01)
        client.close()
        return self

    def kill(self) -> None:
        """SIGKILL: what a crash or a pulled plug looks like to clients."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()

    def restart(self) -> None:
        self.kill()
        self.start()


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    """Poll a server-side state that announces itself no other way (cluster and replication
    links); fail with `what` when it doesn't come."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class NodeServer(RedisServer):
    """A redis-server that is part of a replicated deployment: who is master, who is in sync."""

    def __init__(self, directory: Path, *, args: tuple[str, ...] = (), password: str | None = None):
        # a replica's full sync starts at once, not after the default 5 s wait for others
        auth = ("--masterauth", password) if password else ()
        super().__init__(directory, password=password, args=("--repl-diskless-sync-delay", "0", *auth, *args))

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, decode_responses=True)

    def role(self) -> str:
        with self.client() as client:
            return client.execute_command("ROLE")[0]

    def link_up(self) -> bool:
        """A replica whose link to its master is up (it has its master's data)."""
        with self.client() as client:
            info = client.info("replication")
        return info.get("role") == "slave" and info.get("master_link_status") == "up"


class ClusterNodeServer(NodeServer):
    """One node of a local Redis Cluster (its nodes.conf lives in its own directory)."""

    def __init__(self, directory: Path, *, node_timeout_ms: int, password: str | None = None):
        # the bus port must be free too (the default, port + 10000, may be taken or above 65535)
        super().__init__(directory, password=password,
                         args=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                               "--cluster-node-timeout", str(node_timeout_ms), "--cluster-port", str(free_port())))


class RedisClusterServers:
    """A local Redis Cluster on free ports: `masters` masters with `replicas` replica(s) each
    (every node asking for `password`, if given).

    Failover is fast (`--cluster-node-timeout` 1 s) so a killed master's replica takes over
    within a few seconds."""

    def __init__(self, directory: Path, *, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1000,
                 password: str | None = None):
        self.cli = require_binary("redis-cli")
        self.replicas = replicas
        self.password = password
        self.nodes = [ClusterNodeServer(directory / f"node{i}", node_timeout_ms=node_timeout_ms, password=password)
                      for i in range(masters * (1 + replicas))]

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis+cluster://{auth}" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[:2])

    def start(self) -> "RedisClusterServers":
        for node in self.nodes:
            node.start()
        subprocess.run([self.cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, **({"REDISCLI_AUTH": self.password} if self.password else {})})
        self.wait_healthy()
        return self

    def wait_healthy(self) -> None:
        """Every live node sees the cluster ok, and every replica is in sync with its master."""
        def healthy() -> bool:
            for node in self.live():
                with node.client() as client:
                    if client.execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                        return False
                if node.role() == "slave" and not node.link_up():
                    return False
            return True

        wait_until(healthy, "the Redis cluster to be ok with every replica in sync")

    def flushall(self) -> None:
        for node in self.live():
            if node.role() == "master":
                with node.client() as client:
                    client.flushall()

    def live(self) -> list[ClusterNodeServer]:
        return [n for n in self.nodes if n.process and n.process.poll() is None]

    def master_for(self, key: str) -> ClusterNodeServer:
        """The node that holds `key` now."""
        with self.live()[0].client() as client:
            slot = client.execute_command("CLUSTER KEYSLOT", key)
            for low, high, (_, port, *_), *_ in client.execute_command("CLUSTER SLOTS"):
                if low <= slot <= high:
                    return next(n for n in self.nodes if n.port == port)
        raise RuntimeError(f"no master owns slot {slot}")

    def replica_of(self, master: ClusterNodeServer) -> ClusterNodeServer:
        for node in self.live():
            if node is not master and node.role() == "slave":
                with node.client() as client:
                    if client.info("replication").get("master_port") == master.port:
                        return node
        raise RuntimeError(f"the master on port {master.port} has no replica")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SentinelServer:
    """One redis-server in Sentinel mode, watching the master named `service`."""

    def __init__(self, directory: Path, master_port: int, service: str, master_password: str | None = None):
        self.executable = require_binary("redis-server")
        self.directory = directory
        self.port = free_port()
        self.master_port = master_port
        self.service = service
        self.master_password = master_password
        self.process: subprocess.Popen | None = None

    def start(self) -> "SentinelServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "sentinel.conf"  # Sentinel rewrites it: a file of its own
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} 1\n"
            # slow to call a master down: on a loaded test machine a late PING must not start
            # a failover of its own (the tests ask for theirs with SENTINEL FAILOVER)
            f"sentinel down-after-milliseconds {self.service} 30000\n"
            f"sentinel failover-timeout {self.service} 3000\n"
            + (f"sentinel auth-pass {self.service} {self.master_password}\n" if self.master_password else "")
        )
        self.process = subprocess.Popen([self.executable, str(config), "--sentinel"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, f"sentinel on port {self.port}", timeout=10)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server --sentinel did not start on port {self.port}")
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


class SentinelServers:
    """A master, its replica and a Sentinel watching them, on free ports (the Redis servers
    asking for `password`, if given; the Sentinel for none)."""

    service = "ragtui-master"

    def __init__(self, directory: Path, *, password: str | None = None):
        self.master = NodeServer(directory / "a", password=password)
        self.replica = NodeServer(directory / "b", password=password,
                                  args=("--replicaof", "127.0.0.1", str(self.master.port)))
        self.sentinel = SentinelServer(directory / "sentinel", self.master.port, self.service, password)

    @property
    def url(self) -> str:
        auth = f":{quote(self.master.password, safe='')}@" if self.master.password else ""
        return f"redis+sentinel://{auth}127.0.0.1:{self.sentinel.port}/{self.service}"

    def start(self) -> "SentinelServers":
        self.master.start()
        self.replica.start()
        self.sentinel.start()
        self.wait_healthy()
        return self

    def current_master(self) -> NodeServer:
        with self.sentinel.client() as client:
            _, port = client.sentinel_get_master_addr_by_name(self.service)
        return self.master if int(port) == self.master.port else self.replica

    def wait_healthy(self) -> None:
        """The replica is in sync with the master, and Sentinel knows it (so it can fail over)."""

        def ready() -> bool:
            if not self.replica.link_up():
                return False
            with self.sentinel.client() as client:
                replicas = client.sentinel_slaves(self.service)
            return any(r.get("master-link-status") == "ok" and "s_down" not in r.get("flags", "")
                       for r in replicas)

        wait_until(ready, "Sentinel to see a replica in sync")

    def stop(self) -> None:
        self.sentinel.stop()
        self.replica.stop()
        self.master.stop()
