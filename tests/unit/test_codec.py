"""The stores' item codec: its conventions, and every store model through an item and back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from relayq.domain.cron import Run, RunStatus, Site
from relayq.domain.models import Job, JobStatus
from relayq.dynamodb.codec import attributes, expression_values, plain, to_json
from relayq.dynamodb.jobs import JOB_ITEM
from relayq.dynamodb.runs import RUN_HEADER
from relayq.dynamodb.sites import SITE_ITEM
from relayq.dynamodb.tokens import TOKEN_ITEM, TokenInfo


def test_plain_values_become_attributes_and_none_is_left_out() -> None:
    item = attributes(
        {"s": "text", "empty": "", "n": 5, "yes": True, "status": JobStatus.QUEUED, "m": {"200": 2}, "ns": {3}}
    )
    assert item == {
        "s": {"S": "text"},
        "empty": {"S": ""},
        "n": {"N": "5"},
        "yes": {"BOOL": True},
        "status": {"S": "queued"},
        "m": {"M": {"200": {"N": "2"}}},
        "ns": {"NS": ["3"]},
    }
    assert attributes({"absent": None}) == {}
    assert plain(item) == {
        "s": "text",
        "empty": "",
        "n": Decimal(5),
        "yes": True,
        "status": "queued",
        "m": {"200": Decimal(2)},
        "ns": {Decimal(3)},
    }


def test_floats_are_refused_rather_than_rounded() -> None:
    with pytest.raises(TypeError):
        attributes({"duration": 1.5})


def test_expression_values_are_named_placeholders() -> None:
    assert expression_values(a=3, now="2026-01-01 00:00:00", d=None) == {
        ":a": {"N": "3"},
        ":now": {"S": "2026-01-01 00:00:00"},
    }


def test_json_is_compact() -> None:
    assert to_json({"a": [1, 2.5, None], "b": "é"}) == '{"a":[1,2.5,null],"b":"\\u00e9"}'


def job(**fields: object) -> Job:
    base: dict[str, object] = {
        "id": "job_019b7a3e8c00a1b2c3d4e5f60718",
        "type": "email",
        "queue": "default",
        "status": JobStatus.QUEUED,
        "priority": 5,
        "max_attempts": 3,
        "timeout": 60,
        "created_at": "2026-01-01 00:00:00",
        "updated_at": "2026-01-01 00:00:00",
    }
    return Job.model_validate(base | fields)


@pytest.mark.parametrize(
    "record",
    [
        job(),
        job(
            status=JobStatus.FAILED,
            payload={"to": "a@example.com", "n": [1, 2.5, None], "nested": {"x": True}},
            result=[1, "two", None],
            attempts=3,
            error_message="boom",
            processed_at="2026-01-01 00:00:01",
            failed_at="2026-01-01 00:00:02",
            delay_until="2026-01-01 00:01:00",
        ),
        job(status=JobStatus.COMPLETED, result=0),
    ],
)
def test_a_job_round_trips(record: Job) -> None:
    assert JOB_ITEM.from_item(JOB_ITEM.to_item(record)) == record


def test_a_job_item_holds_payload_and_result_as_json_and_leaves_unset_fields_out() -> None:
    item = JOB_ITEM.to_item(job(payload={"a": 1}, result={"ok": True}))
    assert item["payload"] == {"S": '{"a":1}'} and item["result"] == {"S": '{"ok":true}'}
    assert item["priority"] == {"N": "5"} and item["status"] == {"S": "queued"}
    assert not {"error_message", "processed_at", "failed_at", "delay_until"} & item.keys()
    assert "result" not in JOB_ITEM.to_item(job())


def test_a_job_is_read_past_the_attributes_that_are_no_field() -> None:
    item = JOB_ITEM.to_item(job()) | {"expires_at": {"N": "1768435200"}}
    assert JOB_ITEM.from_item(item) == job()


@pytest.mark.parametrize(
    "info",
    [
        TokenInfo(id="tok_0123456789ab", name="ci", scope="worker", created_at="2026-01-01 00:00:00"),
        TokenInfo(
            id="tok_0123456789ab",
            name="ops",
            scope="full",
            rate_limit=30,
            created_at="2026-01-01 00:00:00",
            last_used_at="2026-01-01 00:00:01",
            revoked=True,
            revoked_at="2026-01-01 00:00:02",
        ),
    ],
)
def test_a_token_round_trips(info: TokenInfo) -> None:
    item = TOKEN_ITEM.to_item(info, token_hash="ab" * 32)
    assert item["token_hash"] == {"S": "ab" * 32} and item["revoked"] == {"BOOL": info.revoked}
    assert TOKEN_ITEM.from_item(item) == info


@pytest.mark.parametrize(
    "run",
    [
        Run(run_id="run_019b7a3e8c00a1b2c3d4", status=RunStatus.QUEUED, mode="redis", created_at="2026-01-01 00:00:00"),
        Run(
            run_id="run_019b7a3e8c00a1b2c3d4",
            status=RunStatus.COMPLETED_WITH_ERRORS,
            mode="sync",
            created_at="2026-01-01 00:00:00",
            started_at="2026-01-01 00:00:01",
            finished_at="2026-01-01 00:00:04",
            duration_ms=3000,
            triggered_by="tok_0123456789ab",
            sites_total=3,
            batches_total=2,
            batches_done=2,
            succeeded=1,
            failed=2,
            status_counts={"200": 1, "503": 1, "error": 1},
        ),
    ],
)
def test_a_run_header_round_trips(run: Run) -> None:
    assert RUN_HEADER.from_item(RUN_HEADER.to_item(run, part="run", kind="run")) == run


def test_a_run_header_as_the_updates_leave_it() -> None:
    item = {
        "run_id": {"S": "run_019b7a3e8c00a1b2c3d4"},
        "part": {"S": "run"},
        "kind": {"S": "run"},
        "status": {"S": "running"},
        "mode": {"S": "deferred"},
        "created_at": {"S": "2026-01-01 00:00:00"},
        "status_counts": {"M": {"200": {"N": "4"}}},
        "done_batches": {"NS": ["0", "1"]},
        "batches_done": {"N": "2"},
        "succeeded": {"N": "4"},
        "expires_at": {"N": "1768435200"},
    }
    assert RUN_HEADER.from_item(item) == Run(
        run_id="run_019b7a3e8c00a1b2c3d4",
        status=RunStatus.RUNNING,
        mode="deferred",
        created_at="2026-01-01 00:00:00",
        batches_done=2,
        succeeded=4,
        status_counts={"200": 4},
    )


@pytest.mark.parametrize(
    "site",
    [
        Site(url="https://a.example"),
        Site(url="https://b.example", cron_url="https://b.example/cron", enabled=False),
    ],
)
def test_a_site_round_trips(site: Site) -> None:
    item = SITE_ITEM.to_item(site, updated_at="2026-01-01 00:00:00")
    assert item["enabled"] == {"BOOL": site.enabled} and ("cron_url" in item) == (site.cron_url is not None)
    assert SITE_ITEM.from_item(item) == site
