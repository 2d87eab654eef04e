"""A real Redis Cluster on free ports, for tests: ``masters`` primaries (each with ``replicas``
replicas), built by hand (CLUSTER ADDSLOTSRANGE, MEET, REPLICATE) so it needs only the server
binary: ``redis-server`` 7+ or ``valkey-server``, no ``redis-cli --cluster``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devstack.redis_server import RedisServer, free_port
from devstack.tls import TlsFiles

SLOTS = 16384


class RedisClusterServers:
    """The nodes of one cluster as child processes. ``node_timeout_ms`` is how long a silent node
            has until the others mark it failed (and a replica takes over); short, so tests see it. With
        ``appendonly`` a node keeps its data across a restart (``node.stop()``, ``node.start()``); with
    ``tls`` every node speaks TLS only, to clients, to its replicas and on the cluster bus.
    ``extra_args`` go to every node (ACL ``--user`` lines); ``auth`` (user, password) is how this
    object's own clients, and the replicas, log in when those lines protect the default user."""

    def __init__(
        self,
        data_dir: Path,
        *,
        masters: int = 3,
        replicas: int = 0,
        node_timeout_ms: int = 1000,
        binary: str = "redis-server",
        host: str = "127.0.0.1",
        appendonly: bool = False,
        tls: TlsFiles | None = None,
        extra_args: Sequence[str] = (),
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.masters = masters
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.binary = binary
        self.host = host
        self.appendonly = appendonly
        self.tls = tls
        self.extra_args = list(extra_args)
        self.auth = auth
        self.nodes: list[RedisServer] = []
        self.bus_ports: dict[int, int] = {}  # client port -> cluster bus port

    @property
    def url(self) -> str:
        """A startup node's URL (``QUEUE_REDIS_URL`` with ``QUEUE_REDIS_CLUSTER=true``)."""
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.nodes[0].port}"

    def client(self, node: RedisServer, timeout: float = 5.0) -> redis.Redis:
        """A plain client of one node (cluster commands, INFO, a key of that node's slots)."""
        return redis.Redis(
            host=node.host,
            port=node.port,
            decode_responses=True,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            **node.client_options,
        )

    def start(self) -> RedisClusterServers:
        try:
            ports: set[int] = set()
            for index in range(self.masters * (1 + self.replicas)):
                self._start_node(index, *self._free_ports(ports))
            self._form()
        except BaseException:
            self.stop()  # no node outlives a cluster that did not form
            raise
        return self

    def _start_node(self, index: int, port: int, bus_port: int) -> None:
        folder = self.data_dir / f"node{index}"
        args = ["--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf")]
        args += ["--cluster-node-timeout", str(self.node_timeout_ms), "--cluster-port", str(bus_port)]
        args += ["--repl-diskless-sync-delay", "0"]  # a replica syncs at once, not after 5 s
        if self.tls:
            args += ["--tls-cluster", "yes", "--tls-replication", "yes"]
        if self.auth is not None:  # a replica logs in to its primary as the same user
            args += ["--masteruser", self.auth[0], "--masterauth", self.auth[1]]
        node = RedisServer(
            folder,
            port,
            host=self.host,
            binary=self.binary,
            appendonly=self.appendonly,
            extra_args=[*args, *self.extra_args],
            tls=self.tls,
            auth=self.auth,
        )
        self.nodes.append(node)
        self.bus_ports[port] = bus_port
        node.start()

    @staticmethod
    def _free_ports(taken: set[int]) -> tuple[int, int]:
        """A client port and a cluster bus port, both unused so far in this cluster."""
        found: list[int] = []
        while len(found) < 2:
            port = free_port()
            if port not in taken:
                taken.add(port)
                found.append(port)
        return found[0], found[1]

    def _form(self) -> None:
        clients = [self.client(node) for node in self.nodes]
        primaries = clients[: self.masters]
        for index, client in enumerate(primaries):
            # Distinct config epochs, as `redis-cli --cluster create` sets them: no collision to
            # resolve, and a later failover has a clear winner.
            client.cluster("SET-CONFIG-EPOCH", index + 1)
            first, last = index * SLOTS // self.masters, (index + 1) * SLOTS // self.masters - 1
            client.cluster("ADDSLOTSRANGE", first, last)
        for node in self.nodes[1:]:
            clients[0].cluster("MEET", node.host, node.port, self.bus_ports[node.port])
        total = len(self.nodes)
        self.wait_until(lambda: all(self._info(c)["cluster_known_nodes"] == str(total) for c in clients))
        ids = [c.cluster("MYID") for c in primaries]
        for index, client in enumerate(clients[self.masters :]):
            client.cluster("REPLICATE", ids[index % self.masters])
        self.wait_until(lambda: all(self._info(c)["cluster_state"] == "ok" for c in clients))
        replicas = clients[self.masters :]
        self.wait_until(lambda: all(c.info("replication").get("master_link_status") == "up" for c in replicas))
        for client in clients:
            client.close()

    @staticmethod
    def _info(client: redis.Redis) -> dict[str, str]:
        info: dict[str, object] = client.cluster("INFO")  # redis-py parses it
        return {key: str(value) for key, value in info.items()}

    def owners_of(self, key: str) -> dict[int, RedisServer]:
        """Who holds ``key``'s slot, by the port of each node that answers within half a second
        (a paused or stopped node does not; the others may disagree during a failover)."""
        owners: dict[int, RedisServer] = {}
        for node in self.nodes:
            try:
                with self.client(node, timeout=0.5) as client:
                    slot = int(client.cluster("KEYSLOT", key))
                    ranges = client.cluster("SLOTS")
            except redis.RedisError:
                continue
            port = next(int(r[2][1]) for r in ranges if int(r[0]) <= slot <= int(r[1]))
            owners[node.port] = next(n for n in self.nodes if n.port == port)
        return owners

    def owner_of(self, key: str) -> RedisServer:
        """The primary that holds ``key``'s slot, as every node that answers says."""
        owners = set(self.owners_of(key).values())
        if len(owners) != 1:
            raise RuntimeError(f"the nodes do not agree who holds {key!r}: {sorted(n.port for n in owners)}")
        return owners.pop()

    def replica_of(self, primary: RedisServer) -> RedisServer:
        """A replica of ``primary`` whose link to it is up (the one to fail over to)."""
        for node in self.nodes:
            if node is not primary:
                with self.client(node, timeout=0.5) as client:
                    info = client.info("replication")
                if info.get("master_port") == primary.port and info.get("master_link_status") == "up":
                    return node
        raise RuntimeError(f"no replica of {primary.port} is in sync")

    @staticmethod
    def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not reach the expected state")
            time.sleep(0.05)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes = []
        self.bus_ports = {}
