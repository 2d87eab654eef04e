"""API Gateway's own answers (template.yaml GatewayResponses) are in the contract's error format,
and the authorizer's refusals say what the plugins say."""

from __future__ import annotations

import json

import pytest

from devstack.gateway_responses import render
from devstack.template import template
from relayq.domain.errors import CronAuthInvalid, CronAuthMissing, Forbidden, ForbiddenScope, QueueError
from relayq.http.errors import error_body

RESPONSES = template()["Resources"]["RestApi"]["Properties"]["GatewayResponses"]


def deny_context(refusal: QueueError) -> dict[str, str]:
    """What a Deny of the authorizer hands the ACCESS_DENIED response (authorizer_app._deny)."""
    return {"error_code": refusal.code, "error_message": refusal.message}


# A refusal that only the DEFAULT_4XX / DEFAULT_5XX declaration answers.
FALLING_BACK = {"DEFAULT_4XX": "UNSUPPORTED_MEDIA_TYPE", "DEFAULT_5XX": "INTEGRATION_FAILURE"}


@pytest.mark.parametrize("response_type", sorted(RESPONSES))
def test_every_gateway_response_is_a_contract_error(response_type: str) -> None:
    context = {"authorizer": deny_context(Forbidden())}
    rendered_as = FALLING_BACK.get(response_type, response_type)
    assert rendered_as == response_type or rendered_as not in RESPONSES
    answer = render(RESPONSES, rendered_as, message='Unsupported Media Type "text/csv"', context=context)
    body = json.loads(answer.body)
    assert set(body) == {"code", "message", "data"} and body["code"] and body["message"]
    assert body["data"]["status"] == answer.status == int(RESPONSES[response_type]["StatusCode"])


@pytest.mark.parametrize("refusal", [Forbidden(), ForbiddenScope(), CronAuthInvalid()], ids=lambda r: r.code)
def test_a_deny_answers_403_with_the_code_and_message_of_its_context(refusal: QueueError) -> None:
    answer = render(RESPONSES, "ACCESS_DENIED", message=None, context={"authorizer": deny_context(refusal)})
    assert answer.status == 403
    assert json.loads(answer.body) == error_body(refusal)


def test_the_plugins_refusals_in_their_words() -> None:
    assert error_body(Forbidden()) == {
        "code": "rest_forbidden",
        "message": "You do not have permission to access this endpoint.",
        "data": {"status": 403},
    }
    assert error_body(CronAuthInvalid()) == {
        "code": "all_sites_cron_auth_invalid",
        "message": "Invalid authentication token.",
        "data": {"status": 403},
    }


def test_the_only_401_is_all_sites_cron_missing_token_with_a_bearer_challenge() -> None:
    answer = render(RESPONSES, "UNAUTHORIZED", message=None, context={})
    assert (answer.status, answer.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert (
        json.loads(answer.body)
        == error_body(CronAuthMissing())
        == {
            "code": "all_sites_cron_auth_missing",
            "message": "Authentication required. Provide a token via Authorization header or ?token= query parameter.",
            "data": {"status": 401},
        }
    )


def test_api_gateway_itself_never_answers_unauthorized() -> None:
    """With an identity source API Gateway would answer UNAUTHORIZED itself when it is missing, on
    any route, with the cron body above: the authorizer must declare none."""
    authorizer = template()["Resources"]["RestApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"]
    identity = authorizer.get("Identity", {})
    assert not any(identity.get(source) for source in ("Headers", "QueryStrings", "StageVariables", "Context"))
