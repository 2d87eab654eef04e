"""The request log line: the contract's fields from an API Gateway event, never the token."""

from __future__ import annotations

import json

from devstack.apigw import proxy_event
from relayq.http.request_log import request_log_fields


def test_fields_from_an_authorized_event() -> None:
    event = proxy_event(
        "POST",
        "/workers/trigger",
        headers={"Authorization": "Bearer rq_secret"},
        query={"token": "rq_secret"},
        source_ip="203.0.113.10",
        authorizer={"principalId": "tok_1", "token_id": "tok_1", "scope": "worker"},
    )
    line = request_log_fields(event, 200, scope_ok=True)
    assert {k: v for k, v in line.items() if k != "ts"} == {
        "method": "POST",
        "route": "/v1/workers/trigger",
        "status": 200,
        "auth": "token",
        "scope_ok": True,
        "rate_limited": False,
        "user_id": 0,
        "token_id": "tok_1",
        "ip": "203.0.113.10",
    }
    assert "rq_secret" not in json.dumps(line)


def test_refused_and_rate_limited_calls_and_a_hostile_address() -> None:
    event = proxy_event("GET", "/jobs", source_ip="10.0.0.1\n<script>")
    refused = request_log_fields(event, 401, scope_ok=False)
    assert (refused["auth"], refused["token_id"], refused["ip"]) == ("none", "", "10.0.0.1c")
    assert request_log_fields(event, 429, scope_ok=True, token_id="tok_2")["rate_limited"] is True
