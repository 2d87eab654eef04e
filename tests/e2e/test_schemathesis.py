"""schemathesis against the committed OpenAPI document, sent over HTTP to the local stack (the
gateway, the authorizer and the API function): valid and invalid requests of every operation get
no 5xx, and every error is in the contract's ``{"code","message","data":{"status"}}`` format."""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from bench.load import own_token
from devstack.template import ROOT
from tests.support.stack import StackProcess

# Examples per operation and mode: ~15 operations x 2 modes x 5 keep the run under a minute on a loaded machine.
EXAMPLES = 5


def assert_contract(response: requests.Response, where: str) -> None:
    assert response.status_code < 500, (where, response.status_code, response.text[:300])
    if response.status_code >= 400:
        body: Any = response.json()
        assert isinstance(body.get("code"), str) and body["code"], (where, body)
        assert isinstance(body.get("message"), str), (where, body)
        assert body.get("data", {}).get("status") == response.status_code, (where, body)


def fuzz(operation: Any, mode: GenerationMode, base_url: str, session: requests.Session) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, timeout=60)
        assert_contract(response, f"{case.method} {case.formatted_path} {mode.value}")

    try:
        check()
    except Unsatisfiable:
        # An operation with nothing to get wrong (no parameters, no body) has no negative cases.
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_every_operation_answers_in_the_contract_format(stack: StackProcess) -> None:
    schema = schemathesis.openapi.from_path(ROOT / "functions" / "api" / "openapi.json")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {own_token(stack, 'schemathesis')}"
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) >= 14
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, stack.url, session)
