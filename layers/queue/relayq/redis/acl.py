"""The ACL rules of the Redis user the layer logs in as: this deployment's keys only (its one hash
tag) and only the commands the layer sends, its Lua scripts run and the cluster client needs. The
template's ElastiCache user has exactly this access string (tests/unit/test_redis_acl.py), and the
test servers log the layer in as a user with it (tests/support/redis_matrix.py)."""

from __future__ import annotations

from relayq.redis.keys import Keys

# Sent by the layer itself.
CLIENT_COMMANDS = (
    "evalsha",  # every multi-key step is a script
    "script",  # SCRIPT LOAD after NOSCRIPT (a flushed cache, a failover)
    "get",
    "set",
    "del",
    "exists",
    "smembers",
    "zcard",
    "zrange",
    "hexists",
    "hgetall",
    "hscan",
    "lrange",
    "info",  # /health, from the node that holds the keys
    "ping",  # the connection health check
)
# Run by the Lua scripts (lua/*.lua): Redis checks a script's calls against the user too.
SCRIPT_COMMANDS = (
    "hget",
    "hset",
    "hsetnx",
    "hdel",
    "hincrby",
    "hincrbyfloat",
    "sadd",
    "zadd",
    "zrem",
    "zscore",
    "zrangebyscore",
    "zremrangebyscore",
    "incr",
    "expire",
    "pexpire",
    "pttl",
    "lpush",
    "ltrim",
)
# The cluster client's: the slot map (CLUSTER SLOTS) and the key positions of commands (COMMAND).
CLUSTER_COMMANDS = ("cluster", "command")

COMMANDS = tuple(sorted(set(CLIENT_COMMANDS + SCRIPT_COMMANDS + CLUSTER_COMMANDS)))


def access_string(prefix: str) -> str:
    """The user's rules: on, the keys under ``{prefix}:``, no command but the layer's."""
    return " ".join(["on", f"~{Keys(prefix).tag}*", "-@all", *(f"+{c}" for c in COMMANDS)])
