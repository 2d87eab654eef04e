"""The API Gateway event builders produce what API Gateway sends (v1 proxy and REQUEST authorizer)."""

from __future__ import annotations

from devstack.apigw import authorizer_event, method_arn, policy_allows, proxy_event


def test_proxy_event_splits_single_and_multi_values_and_path_parameters() -> None:
    event = proxy_event(
        "post",
        "/jobs/job_1/retry",
        headers=[("X-A", "1"), ("X-A", "2")],
        query=[("queues[]", "a"), ("queues[]", "b")],
        body='{"x":1}',
        resource="/{proxy+}",
        authorizer={"token_id": "t1", "rate_limit": 60, "full": True},
    )
    assert event["httpMethod"] == "POST"
    assert event["headers"] == {"X-A": "2"}
    assert event["multiValueHeaders"] == {"X-A": ["1", "2"]}
    assert event["queryStringParameters"] == {"queues[]": "b"}
    assert event["multiValueQueryStringParameters"] == {"queues[]": ["a", "b"]}
    assert event["pathParameters"] == {"proxy": "jobs/job_1/retry"}
    assert event["requestContext"]["stage"] == "v1"
    assert event["requestContext"]["path"] == "/v1/jobs/job_1/retry"
    assert event["requestContext"]["authorizer"] == {"token_id": "t1", "rate_limit": "60", "full": "true"}
    assert event["body"] == '{"x":1}' and event["isBase64Encoded"] is False


def test_proxy_event_without_query_or_body_has_nulls_and_binary_body_is_base64() -> None:
    event = proxy_event("GET", "/jobs/abc", resource="/jobs/{id}")
    assert event["queryStringParameters"] is None and event["body"] is None
    assert event["pathParameters"] == {"id": "abc"}
    binary = proxy_event("POST", "/x", body=b"\xff\x00")
    assert binary["isBase64Encoded"] is True and binary["body"] == "/wA="


def test_authorizer_event_and_policy_evaluation() -> None:
    event = authorizer_event("POST", "/workers/trigger", headers={"Authorization": "Bearer x"}, query={"token": "t"})
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == method_arn("POST", "/workers/trigger")
    assert event["methodArn"].endswith("/v1/POST/workers/trigger")
    arn = event["methodArn"]
    allow_all = {
        "policyDocument": {
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn.split("/v1/")[0] + "/v1/*"}
            ]
        }
    }
    assert policy_allows(allow_all, arn)
    deny = {
        "policyDocument": {
            "Statement": [
                *allow_all["policyDocument"]["Statement"],
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": arn},
            ]
        }
    }
    assert not policy_allows(deny, arn)
    assert not policy_allows({"policyDocument": {"Statement": []}}, arn)
