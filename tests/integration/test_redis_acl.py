"""The layer logs in as the template's ACL user (tests/support/redis_matrix.py): on every engine, a
key outside the deployment's hash tag is refused, by a command and inside a script, and so is a
command outside the layer's set; the suites pass as that user."""

from __future__ import annotations

import pytest
from redis.exceptions import NoPermissionError

from relayq.redis.broker import QueueEntry, RedisBroker
from relayq.redis.connection import RedisConnection
from relayq.redis.scripts import Scripts

pytestmark = pytest.mark.redis_matrix


def test_a_key_outside_the_pattern_is_refused(layer_conn: RedisConnection, redis_conn: RedisConnection) -> None:
    assert layer_conn.set("{rq}:mine", "1") is True
    with pytest.raises(NoPermissionError):
        layer_conn.set("{other}:theirs", "1")
    with pytest.raises(NoPermissionError):  # a script's call is checked too
        Scripts(layer_conn).run("release_lock", ["{other}:lock"], ["token"])
    with pytest.raises(NoPermissionError):  # a deployment with another prefix is another user's
        RedisBroker(layer_conn, "other").enqueue([QueueEntry("job_" + "1" * 28, "default", 50, 30)])
    assert redis_conn.exists("{other}:theirs", "{other}:lock", "{other}:meta") == 0


def test_a_command_outside_the_set_is_refused(layer_conn: RedisConnection) -> None:
    with pytest.raises(NoPermissionError):
        layer_conn.flushall()
    with pytest.raises(NoPermissionError):
        layer_conn.config_get("maxmemory")
