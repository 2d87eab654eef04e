"""The GitHub workflows: every action pinned by commit, credentials only through OIDC."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.template import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
FULL_SHA = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_full_commit(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    for step in _steps(workflow):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert FULL_SHA.match(uses), f"{path.name}: {uses} is not pinned by a 40-hex commit"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_stored_aws_keys(path: Path) -> None:
    text = path.read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text


def test_local_workflow_references_exist() -> None:
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            uses = job.get("uses", "")
            if uses.startswith("./"):
                assert (ROOT / uses).is_file(), f"{path.name}: {uses} does not exist"


def test_prod_deploys_only_after_dev() -> None:
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]
    assert jobs["prod"]["needs"] == "dev" and jobs["dev"]["needs"] == "checks"
    assert jobs["prod"]["with"]["environment"] == "prod"


def test_deploy_environments_exist_in_samconfig() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"relayq-{env}" and deploy["resolve_s3"] is True
        assert f"EnvironmentName={env}" in deploy["parameter_overrides"]
        assert config[env]["build"]["parameters"] == {"cached": True, "parallel": True}
