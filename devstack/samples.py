"""What the sample events of devstack/events.py refer to, made in a deployment's tables and Redis:
a real token for each of the samples' placeholder tokens, the queued job ``JOB_ID``, the cron run
``RUN_ID`` and the site ``sites_delete`` removes. tests/integration/test_events.py (in process)
and ``make sam-local`` (in containers) seed through here, so both invoke the same samples against
the same data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devstack import events
from devstack.apigw import policy_allows
from relayq.container import Container
from relayq.domain.cron import Site
from relayq.domain.models import NewJob
from relayq.dynamodb.tokens import Scope, TokenStore
from relayq.redis.broker import QueueEntry

# The samples' placeholder secrets -> the scope and id of the token each stands for. The full
# token's id and name are those of the context the API samples carry (events.FULL_CONTEXT).
SAMPLE_TOKENS: dict[str, tuple[Scope, str, str]] = {
    events.FULL_TOKEN: ("full", str(events.FULL_CONTEXT["token_id"]), str(events.FULL_CONTEXT["name"])),
    events.WORKER_TOKEN: ("worker", "tok_worker", "example-worker"),
}


def mint_tokens(store: TokenStore) -> dict[str, str]:
    """A real token for each placeholder of the samples: placeholder -> the new secret."""
    return {
        placeholder: store.create(name, scope, token_id=token_id).token
        for placeholder, (scope, token_id, name) in SAMPLE_TOKENS.items()
    }


def with_tokens(text: str, tokens: Mapping[str, str]) -> str:
    """A sample event's text with the minted secrets in place of the placeholders (the committed
    events keep the placeholders: no secret is ever committed)."""
    for placeholder, secret in tokens.items():
        text = text.replace(placeholder, secret)
    return text


def seed(app: Container) -> None:
    """The records the samples name: the queued email job ``JOB_ID`` and the cron run ``RUN_ID``."""
    service = app.jobs
    job, _ = service.build(NewJob(type="email", payload=events.EMAIL))
    job = job.model_copy(update={"id": events.JOB_ID})
    service.store.put_new(job)
    service.broker.enqueue([QueueEntry(job.id, job.queue, job.priority, job.timeout)])
    app.cron.runs.create(events.RUN_ID, "redis", str(events.FULL_CONTEXT["token_id"]))


def seed_case(app: Container, case: events.Case) -> None:
    """What one sample needs just before it is invoked: the site sites_delete removes is put only
    there (any run would call it)."""
    if case.name == "sites_delete":
        app.cron.runner.sites.put([Site(url=events.OTHER_SITE)])


def observed(case: events.Case, event: Mapping[str, Any], result: Any, error: str | None) -> int | str | None:
    """What an invocation of ``case`` answered, in the terms of ``Case.expect``: the status of a
    proxy response, the authorizer's Allow or Deny (its policy for the event's method ARN) or
    Unauthorized (the error API Gateway answers 401 for), None for a direct invocation that
    returned. ``error`` is the function error's message; any other error is described in a text
    that matches no expectation."""
    if error is not None:
        if case.function == "authorizer" and error == "Unauthorized":
            return "Unauthorized"
        return f"function error: {error}"
    if case.function == "authorizer":
        if not isinstance(result, Mapping) or "policyDocument" not in result:
            return f"no policy: {str(result)[:120]}"
        return "Allow" if policy_allows(result, event["methodArn"]) else "Deny"
    if isinstance(case.expect, int):
        if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
            return f"no HTTP response: {str(result)[:120]}"
        return int(result["statusCode"])
    return None
