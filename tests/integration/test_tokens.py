"""Token store and its command line, against DynamoDB (moto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tools.tokens as tokens_cli
from devstack.moto_server import MotoServer
from devstack.redis_server import free_port
from devstack.template import ROOT, table_environment
from relayq.container import reset as reset_container
from relayq.domain.errors import TokenNotFound
from relayq.dynamodb.tokens import TokenStore, hash_token
from relayq.settings import Settings
from tests.integration.conftest import TABLE_NAMES
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
    assert json.loads(capsys.readouterr().out)["revoked_at"] is not None
    assert tokens.authenticate(rotated) is None
    assert main(["revoke", token_id], store=tokens) == 1
    assert "Token not found" in capsys.readouterr().err
    assert main(["list", "--active"], store=tokens) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["create", "--name", "x", "--rate-limit", "0"], store=tokens) == 2


# --- the command line as a user runs it: settings found on its own, one line per mistake ----------


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A shell without AWS or queue settings and no local stack's file; what the command line
    puts into the environment is gone after the test."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "QUEUE_", "BOTO"))}
    environment["AWS_CONFIG_FILE"] = environment["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    monkeypatch.setattr(os, "environ", environment)
    # raising=False: the test then fails on what the command does when it has no such default.
    monkeypatch.setattr(tokens_cli, "LOCAL_ENV_FILE", tmp_path / ".local" / "env", raising=False)
    reset_container()
    yield environment
    reset_container()


@pytest.fixture
def local_moto(moto_server: MotoServer) -> MotoServer:
    """moto's server with the tables (a test under mock_aws in this process resets its backends)."""
    moto_server.create_tables(TABLE_NAMES)
    return moto_server


def local_env_file(path: Path, moto_url: str) -> Path:
    """What `make run` writes (the part the token command line reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        **table_environment(TABLE_NAMES),
    }
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def test_the_command_line_finds_the_local_stack_settings_and_revoke_prints_the_time(
    clean_environment: dict[str, str], local_moto: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    local_env_file(tokens_cli.LOCAL_ENV_FILE, local_moto.url)
    assert main(["create", "--name", "local-cli"]) == 0
    token_id = json.loads(capsys.readouterr().out)["info"]["id"]

    assert main(["revoke", token_id]) == 0
    revoked = json.loads(capsys.readouterr().out)
    assert main(["list"]) == 0
    listed = next(t for t in json.loads(capsys.readouterr().out) if t["id"] == token_id)

    assert revoked["revoked"] is True
    assert revoked["revoked_at"] is not None
    assert revoked["revoked_at"] == listed["revoked_at"]


def test_an_explicit_env_file_is_used(
    clean_environment: dict[str, str], local_moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = local_env_file(tmp_path / "elsewhere" / "env", local_moto.url)
    assert main(["--env-file", str(env_file), "list"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


def test_without_settings_it_names_the_file_and_the_flag(
    clean_environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 2
    error = one_line_error(capsys)
    assert str(tokens_cli.LOCAL_ENV_FILE) in error
    assert "--env-file" in error and "make run" in error


def test_no_region_is_a_one_line_error(clean_environment: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    clean_environment["QUEUE_TOKENS_TABLE"] = "relayq-tokens"  # a deployment's settings, less the region
    assert main(["list"]) == 2
    assert "no AWS region" in one_line_error(capsys)


def test_no_stack_running_is_a_one_line_error(
    clean_environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    stopped = f"http://127.0.0.1:{free_port()}"
    local_env_file(tokens_cli.LOCAL_ENV_FILE, stopped)
    assert main(["list"]) == 1
    error = one_line_error(capsys)
    assert stopped in error and "make run" in error


def test_an_unknown_token_id_is_a_one_line_error(
    clean_environment: dict[str, str], local_moto: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    local_env_file(tokens_cli.LOCAL_ENV_FILE, local_moto.url)
    assert main(["revoke", "tok_nosuchtoken"]) == 1
    assert "tok_nosuchtoken" in one_line_error(capsys)


def test_the_command_as_a_user_runs_it_prints_no_traceback(tmp_path: Path) -> None:
    """`python -m tools.tokens list` in a shell without AWS settings (the issue's NoRegionError)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "QUEUE_"))}
    environment |= {"AWS_CONFIG_FILE": str(tmp_path / "none"), "QUEUE_TOKENS_TABLE": "relayq-tokens"}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "queue"), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-m", "tools.tokens", "list"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: no AWS region")
