"""The template's ElastiCache user has the layer's access string (relayq.redis.acl), the one the
test servers give the user the Redis-facing suites run as."""

from __future__ import annotations

from devstack.template import resources
from relayq.redis.acl import COMMANDS, access_string


def test_the_template_user_has_the_layer_access_string() -> None:
    (user,) = resources("AWS::ElastiCache::User").values()
    assert user["Properties"]["AccessString"] == {"Sub": access_string("${KeyPrefix}")}


def test_the_access_string_is_the_deployment_keys_and_the_layer_commands_only() -> None:
    words = access_string("rq").split()
    assert words[:3] == ["on", "~{rq}:*", "-@all"]
    assert words[3:] == [f"+{c}" for c in COMMANDS]
    assert not {"flushall", "flushdb", "keys", "config", "multi", "exec", "eval"} & set(COMMANDS)
