"""Token store and its command line, against DynamoDB (moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relayq.domain.errors import TokenNotFound
from relayq.dynamodb.tokens import TokenStore, hash_token
from relayq.settings import Settings
from tools.tokens import main


@pytest.fixture
def tokens(dynamodb: Any, settings: Settings) -> TokenStore:
    return TokenStore(dynamodb, settings.tokens_table)


def test_tokens_are_random_256_bit_and_stored_only_as_hashes(tokens: TokenStore, dynamodb: Any) -> None:
    created = tokens.create("ci", "worker", rate_limit=30)
    other = tokens.create("ci", "worker")
    assert created.token != other.token and created.token.startswith("rq_")
    assert len(created.token) - 3 >= 43  # 32 random bytes in URL-safe base64
    items = dynamodb.scan(TableName=tokens.table)["Items"]
    assert {i["token_hash"]["S"] for i in items} == {hash_token(created.token), hash_token(other.token)}
    assert created.token not in json.dumps(items)


def test_authenticate_live_unknown_and_revoked(tokens: TokenStore) -> None:
    created = tokens.create("ci", "full", rate_limit=5)
    info = tokens.authenticate(created.token)
    assert info is not None and (info.id, info.scope, info.rate_limit) == (created.info.id, "full", 5)
    assert tokens.authenticate(created.token + "x") is None
    assert tokens.authenticate("") is None
    tokens.revoke(created.info.id)
    assert tokens.authenticate(created.token) is None
    with pytest.raises(TokenNotFound):
        tokens.revoke(created.info.id)


def test_rotate_keeps_the_identity_and_kills_the_old_secret(tokens: TokenStore) -> None:
    created = tokens.create("ci", "worker", rate_limit=7)
    rotated = tokens.rotate(created.info.id)
    assert rotated.token != created.token
    assert tokens.authenticate(created.token) is None
    info = tokens.authenticate(rotated.token)
    assert info is not None and (info.id, info.name, info.scope, info.rate_limit) == (
        created.info.id,
        "ci",
        "worker",
        7,
    )
    with pytest.raises(TokenNotFound):
        tokens.rotate("tok_unknown")


def test_last_used_is_written_once_a_minute_at_most(tokens: TokenStore, dynamodb: Any) -> None:
    created = tokens.create("ci", "worker")
    tokens.authenticate(created.token)
    first = tokens.list()[0].last_used_at
    assert first is not None
    calls: list[str] = []
    dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", lambda **_: calls.append("update"))
    tokens.authenticate(created.token)
    assert calls == []


def test_command_line(tokens: TokenStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create", "--name", "cron", "--scope", "worker", "--rate-limit", "10"], store=tokens) == 0
    created = json.loads(capsys.readouterr().out)
    secret, token_id = created["token"], created["info"]["id"]
    assert tokens.authenticate(secret) is not None
    assert main(["list"], store=tokens) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in listed] == [token_id] and secret not in json.dumps(listed)
    assert main(["rotate", token_id], store=tokens) == 0
    rotated = json.loads(capsys.readouterr().out)["token"]
    assert tokens.authenticate(secret) is None and tokens.authenticate(rotated) is not None
    assert main(["revoke", token_id], store=tokens) == 0
    capsys.readouterr()
    assert tokens.authenticate(rotated) is None
    assert main(["revoke", token_id], store=tokens) == 1
    assert "Token not found" in capsys.readouterr().err
    assert main(["list", "--active"], store=tokens) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["create", "--name", "x", "--rate-limit", "0"], store=tokens) == 2
