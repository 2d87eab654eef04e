"""The local stack reads template.yaml as SAM and API Gateway would: names, environment, routes,
schedules and gateway responses."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from devstack.functions import Resolver, function_specs
from devstack.gateway_responses import render
from devstack.routes import rest_apis
from devstack.schedules import Schedule, schedules
from devstack.template import resources, template

TABLES = {logical: f"local-{logical}" for logical in resources("AWS::DynamoDB::Table")}


@pytest.fixture
def resolver() -> Resolver:
    return Resolver({"EnvironmentName": "local", "RedisUrl": "redis://127.0.0.1:6380/0"}, TABLES)


def test_functions_get_the_template_environment_with_local_names(resolver: Resolver) -> None:
    specs = function_specs(resolver)
    assert len(specs) == len(resources("AWS::Serverless::Function"))
    for spec in specs.values():
        assert spec.environment["QUEUE_JOBS_TABLE"] == "local-JobsTable"
        assert spec.environment["QUEUE_REDIS_URL"] == "redis://127.0.0.1:6380/0"
        assert (spec.code_dir / f"{spec.handler.rsplit('.', 1)[0]}.py").exists()
    named = [r for r in resources("AWS::Serverless::Function").values() if "FunctionName" in r["Properties"]]
    assert all(resolver.resolve(r["Properties"]["FunctionName"]) in specs for r in named)


def test_the_function_with_a_fixed_name_is_invoked_by_that_name(resolver: Resolver) -> None:
    trigger = next(s for s in function_specs(resolver).values() if s.logical_id == "CronFunction")
    assert trigger.name == "relayq-local-cron"
    assert trigger.arn == "arn:aws:lambda:us-east-1:123456789012:function:relayq-local-cron"


def test_routes_match_as_api_gateway_matches_them(resolver: Resolver) -> None:
    api = rest_apis(resolver)[0]
    assert api.stage == template()["Resources"]["RestApi"]["Properties"]["StageName"]
    trigger = "relayq-local-cron"
    cases = {
        ("GET", "/jobs"): ("/{proxy+}", "ApiFunction"),
        ("DELETE", "/jobs/job_1"): ("/{proxy+}", "ApiFunction"),
        ("POST", "/queues/email/clear"): ("/{proxy+}", "ApiFunction"),
        ("GET", "/run"): ("/run", trigger),
        ("POST", "/process-queue"): ("/process-queue", trigger),
        ("GET", "/runs/run_1"): ("/runs/{id}", trigger),
    }
    for (method, path), (resource, function) in cases.items():
        matched, route = api.match(method, path)
        assert (matched, route and route.function) == (resource, function), (method, path)
        assert route is not None and route.authorizer is not None  # every route needs a token
    # A resource without the method is not handed to /{proxy+}: API Gateway refuses it.
    assert api.match("GET", "/process-queue") == ("/process-queue", None)
    assert api.match("GET", "/") == ("", None)


def test_schedules_come_from_the_template(resolver: Resolver) -> None:
    found = schedules(resolver)
    declared = [
        json.loads(resolver.resolve(event["Properties"]["Input"]))
        for r in resources("AWS::Serverless::Function").values()
        for event in r["Properties"].get("Events", {}).values()
        if event["Type"] == "Schedule"
    ]
    assert all(s.expression.startswith(("rate(", "cron(")) for s in found)
    assert sorted(json.dumps(s.input, sort_keys=True) for s in found) == sorted(
        json.dumps(d, sort_keys=True) for d in declared
    )
    assert {s.function for s in found} <= set(function_specs(resolver))


@pytest.mark.parametrize(
    ("expression", "now", "expected"),
    [
        ("rate(1 minute)", "2026-01-01T10:00:30", "2026-01-01T10:01:30"),
        ("rate(2 hours)", "2026-01-01T10:00:00", "2026-01-01T12:00:00"),
        ("cron(0/5 * * * ? *)", "2026-01-01T10:03:10", "2026-01-01T10:05:00"),
        ("cron(15 10 * * ? *)", "2026-01-01T10:15:00", "2026-01-02T10:15:00"),
        ("cron(0 12 ? * MON-FRI *)", "2026-01-03T13:00:00", "2026-01-05T12:00:00"),  # Saturday -> Monday
        ("cron(0 0 1 JAN,JUL ? *)", "2026-02-01T00:00:00", "2026-07-01T00:00:00"),
    ],
)
def test_schedule_expressions_fire_when_eventbridge_would(expression: str, now: str, expected: str) -> None:
    schedule = Schedule("fn", "rule", expression, None)
    moment = dt.datetime.fromisoformat(now).replace(tzinfo=dt.UTC)
    assert schedule.next_after(moment) == dt.datetime.fromisoformat(expected).replace(tzinfo=dt.UTC)


def test_a_schedule_without_input_sends_the_scheduled_event() -> None:
    event = Schedule("fn", "rule", "rate(5 minutes)", None).event(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-01-01T00:00:00Z"
    assert Schedule("fn", "rule", "rate(5 minutes)", {"queues": ["a"]}).event(dt.datetime.now(dt.UTC)) == {
        "queues": ["a"]
    }


def test_gateway_responses_render_the_template_bodies(resolver: Resolver) -> None:
    declared = rest_apis(resolver)[0].gateway_responses
    for response_type, configured in declared.items():
        if response_type.startswith("DEFAULT_"):
            continue
        answer = render(declared, response_type, message="why", context={"requestId": "r-1"})
        json.loads(answer.body)  # every declared body is JSON once rendered
        assert answer.status == int(configured["StatusCode"])
    unauthorized = render(declared, "UNAUTHORIZED", message=None, context={})
    assert unauthorized.status == 401


def test_the_default_response_says_which_refusal_it_was() -> None:
    declared = {
        "DEFAULT_4XX": {
            "StatusCode": 400,
            "ResponseParameters": {"Headers": {"Retry-After": "'1'", "X-Request": "context.requestId"}},
            "ResponseTemplates": {
                "application/json": '{"message":$context.error.messageString,"type":"$context.error.responseType"}'
            },
        }
    }
    answer = render(declared, "BAD_REQUEST_BODY", message='bad "body"', context={"requestId": "r-1"})
    assert answer.status == 400
    assert json.loads(answer.body) == {"message": 'bad "body"', "type": "BAD_REQUEST_BODY"}
    assert answer.headers["Retry-After"] == "1" and answer.headers["X-Request"] == "r-1"
