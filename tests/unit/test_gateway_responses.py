"""API Gateway's own answers (template.yaml GatewayResponses) are in the contract's error format."""

from __future__ import annotations

import json

import pytest

from devstack.template import template
from relayq.domain.errors import Forbidden, ForbiddenScope
from relayq.http.errors import error_body

RESPONSES = template()["Resources"]["RestApi"]["Properties"]["GatewayResponses"]
# What API Gateway substitutes for the $context variables these templates use.
SAMPLE_CONTEXT = {
    "$context.error.messageString": json.dumps('Unsupported Media Type "text/csv"'),
    "$context.error.responseType": "UNSUPPORTED_MEDIA_TYPE",
}


@pytest.mark.parametrize("response_type", sorted(RESPONSES))
def test_every_gateway_response_is_a_contract_error(response_type: str) -> None:
    declared = RESPONSES[response_type]
    text = declared["ResponseTemplates"]["application/json"]
    for variable, value in SAMPLE_CONTEXT.items():
        text = text.replace(variable, value)
    body = json.loads(text)
    assert set(body) == {"code", "message", "data"} and body["code"] and body["message"]
    assert body["data"]["status"] == int(declared["StatusCode"])


def test_authorizer_refusals_have_the_contract_bodies() -> None:
    unauthorized = json.loads(RESPONSES["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])
    denied = json.loads(RESPONSES["ACCESS_DENIED"]["ResponseTemplates"]["application/json"])
    assert (
        unauthorized
        == error_body(Forbidden())
        == {
            "code": "rest_forbidden",
            "message": "Sorry, you are not allowed to do that.",
            "data": {"status": 401},
        }
    )
    assert (
        denied
        == error_body(ForbiddenScope())
        == {
            "code": "rest_forbidden_scope",
            "message": "Token scope does not permit this endpoint.",
            "data": {"status": 403},
        }
    )
