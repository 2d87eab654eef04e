"""The post-deploy smoke test fails the deploy job with a readable reason when the API is not there."""

from __future__ import annotations

import pytest

from devstack.redis_server import free_port
from tools import smoke


def test_unreachable_api_fails_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    code = smoke.main(["--base-url", f"http://127.0.0.1:{free_port()}/v1", "--token", "t"])
    assert code == 1
    assert "smoke test FAILED" in capsys.readouterr().err


def test_base_url_and_token_are_required() -> None:
    with pytest.raises(SystemExit):
        smoke.main(["--token", "t"])
