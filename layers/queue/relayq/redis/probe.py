"""The health probe of the Redis side: ask the node that holds the deployment's keys, not any node.

Every key of a deployment shares one hash tag, so one slot and one primary hold them all. The
probe sends that node ``INFO`` and a read of one of the keys (which a node answers only for a slot
it serves, and not while its cluster is down), on a connection of its own with a short timeout
and no retries: the queue's connection waits its full socket timeout, three times, and the cluster
client would answer ``INFO`` from another node, so a dead primary looked healthy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MovedError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from relayq.redis.connection import RedisConnection
from relayq.redis.failures import REDIS_FAILURES, failure_summary

# What a probe connection takes over from the queue's own: where, who, how it speaks (TLS options
# are the ``ssl_*`` ones); not its timeouts, retries or the cluster client's connection hooks.
CONNECTION_OPTIONS = {"host", "port", "path", "db", "username", "password", "credential_provider", "protocol"}
CONNECTION_OPTIONS |= {"decode_responses", "encoding", "encoding_errors"}


class NodeDown(Exception):
    """The node that holds the keys did not answer the probe (``cause`` says how)."""

    def __init__(self, node: str, cause: Exception) -> None:
        super().__init__(f"{failure_summary(cause)} ({node})")
        self.node = node
        self.cause = cause


def probe(conn: RedisConnection, key: str, timeout: float) -> dict[str, Any]:
    """``INFO`` of the node that holds ``key`` (in a cluster, its slot's primary), asked within
    ``timeout`` seconds, or :class:`NodeDown`. In a cluster, a node that says the slot moved is
    followed once; one that does not answer makes the client refresh its slot map (as it does after
    any failed command), and the slot's new primary, if another, is asked too."""
    if not isinstance(conn, RedisCluster):
        return _ask(conn.connection_pool, None, key, timeout)
    node = _owner(conn, key)
    try:
        return _ask_node(conn, node, key, timeout)
    except NodeDown as down:
        if not isinstance(down.cause, RedisConnectionError | RedisTimeoutError):
            raise
        successor = _refreshed_owner(conn, node, key)
        if successor is None:
            raise
        return _ask_node(conn, successor, key, timeout)


def _owner(conn: RedisCluster, key: str) -> ClusterNode:
    """The primary of ``key``'s slot in the client's slot map (SlotNotCoveredError if none)."""
    node: ClusterNode = conn.get_node_from_key(key)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    return node


def _ask_node(conn: RedisCluster, node: ClusterNode, key: str, timeout: float) -> dict[str, Any]:
    pool = conn.get_redis_connection(node).connection_pool
    try:
        return _ask(pool, None, key, timeout)
    except NodeDown as down:
        if not isinstance(down.cause, MovedError):
            raise
        return _ask(pool, (down.cause.host, int(down.cause.port)), key, timeout)


def _refreshed_owner(conn: RedisCluster, failed: ClusterNode, key: str) -> ClusterNode | None:
    """The slot's primary after a refresh of the slot map, if another node than ``failed``."""
    try:
        conn.nodes_manager.initialize(last_failed_node_name=failed.name)
        owner = _owner(conn, key)
    except REDIS_FAILURES:
        return None
    return owner if owner.name != failed.name else None


def _ask(pool: redis.ConnectionPool, address: tuple[str, int] | None, key: str, timeout: float) -> dict[str, Any]:
    options = {k: v for k, v in pool.connection_kwargs.items() if k in CONNECTION_OPTIONS or k.startswith("ssl_")}
    if address is not None:
        options["host"], options["port"] = address
    node = f"{options.get('host')}:{options.get('port')}"
    own = redis.ConnectionPool(
        connection_class=pool.connection_class,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        **options,
    )
    try:
        pipe = redis.Redis(connection_pool=own).pipeline(transaction=False)
        pipe.info()
        pipe.exists(key)
        info, _ = pipe.execute()
    except REDIS_FAILURES as error:
        raise NodeDown(node, error) from error
    finally:
        own.disconnect()
    return dict(info)


def node_report(conn: RedisConnection, info: Mapping[str, Any]) -> dict[str, Any]:
    """What ``/health`` reports of the node from its ``INFO``: the plugin's fields (its
    ``used_memory`` is the human form, ``used_memory_human``), then the engine and its own version
    (Valkey names itself in ``server_name`` / ``valkey_version``; its ``redis_version`` is the Redis
    version it is compatible with) and whether the keys live in a cluster."""
    engine = "valkey" if info.get("server_name") == "valkey" or "valkey_version" in info else "redis"
    return {
        "redis_version": info.get("redis_version"),
        "used_memory": info.get("used_memory_human"),
        "connected_clients": info.get("connected_clients"),
        "used_memory_human": info.get("used_memory_human"),
        "uptime_in_seconds": info.get("uptime_in_seconds"),
        "engine": engine,
        "engine_version": info.get(f"{engine}_version"),
        "cluster_mode": isinstance(conn, RedisCluster) or bool(info.get("cluster_enabled")),
    }
