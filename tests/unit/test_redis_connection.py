"""The CA bundle setting (``QUEUE_REDIS_CA_FILE``): the connection trusts that file, verification
stays on, and a setting that cannot work fails at start with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from pydantic import ValidationError

from relayq.aws import AwsClients
from relayq.redis.connection import connect
from relayq.settings import Settings


def test_a_rediss_connection_trusts_the_ca_file_and_verifies(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")  # read at connect, not at start
    conn = connect(Settings(redis_url="rediss://cache.example:6379/0", redis_ca_file=str(bundle)), AwsClients())
    assert isinstance(conn, redis.Redis)
    options = conn.connection_pool.connection_kwargs
    assert options["ssl_ca_certs"] == str(bundle)
    assert options.get("ssl_cert_reqs", "required") == "required" and options.get("ssl_check_hostname", True)


def test_without_the_setting_the_default_trust_store_is_used() -> None:
    conn = connect(Settings(redis_url="rediss://cache.example:6379/0", redis_ca_file=""), AwsClients())
    assert isinstance(conn, redis.Redis)
    assert "ssl_ca_certs" not in conn.connection_pool.connection_kwargs


@pytest.mark.parametrize(
    ("url", "file", "message"),
    [
        ("redis://cache.example:6379/0", "ca.pem", "QUEUE_REDIS_URL must start with rediss://"),
        ("rediss://cache.example:6379/0", "missing.pem", "no such file"),
    ],
)
def test_a_ca_file_that_cannot_work_fails_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, file: str, message: str
) -> None:
    (tmp_path / "ca.pem").write_text("")
    monkeypatch.setenv("QUEUE_REDIS_URL", url)
    monkeypatch.setenv("QUEUE_REDIS_CA_FILE", str(tmp_path / file))
    with pytest.raises(ValidationError, match=message):
        Settings()
