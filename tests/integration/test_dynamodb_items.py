"""The raw items every store writes, pinned attribute by attribute: deployed tables hold items in
this shape, the indexes key on some of its attributes and the readers parse it, so a change of the
stores' code must never change what lands in the table.

Against moto's server, like every integration test: moto's in-process ``mock_aws`` shares the
server's state in this process and would reset its tables when it ends."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.moto_server import MotoServer
from relayq.domain.cron import Site, SiteResult
from relayq.domain.models import AttemptError, Job
from relayq.dynamodb.jobs import JobStore
from relayq.dynamodb.runs import RunStore
from relayq.dynamodb.sites import SiteStore
from relayq.dynamodb.tokens import TokenStore, hash_token
from tests.integration.conftest import TABLE_NAMES
from tests.support.clock import FakeClock

START_MS = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC
JOB_ID = "job_019b7a3e8c00a1b2c3d4e5f60718"
RUN_ID = "run_019b7a3e8c00a1b2c3d4"
# finished at START + n seconds, kept 14 days
EXPIRES = {n: str(START_MS // 1000 + n + 14 * 86400) for n in range(10)}

QUEUED_JOB = {
    "id": {"S": JOB_ID},
    "type": {"S": "email"},
    "queue": {"S": "default"},
    "status": {"S": "queued"},
    "priority": {"N": "5"},
    "payload": {"S": '{"to":"a@example.com","n":[1,2.5,null]}'},
    "attempts": {"N": "0"},
    "max_attempts": {"N": "3"},
    "timeout": {"N": "60"},
    "created_at": {"S": "2026-01-01 00:00:00"},
    "updated_at": {"S": "2026-01-01 00:00:00"},
    "delay_until": {"S": "2026-01-01 00:01:00"},
}


@pytest.fixture
def fixed_clock() -> FakeClock:
    return FakeClock(START_MS)


@pytest.fixture
def dynamodb(lambda_env: dict[str, str], moto_server: MotoServer) -> Any:
    """moto's server, its tables emptied (``lambda_env``)."""
    return moto_server.client("dynamodb")


@pytest.fixture
def jobs(dynamodb: Any, fixed_clock: FakeClock) -> JobStore:
    return JobStore(dynamodb, TABLE_NAMES["jobs_table"], clock=fixed_clock)


def raw_item(client: Any, table: str, key: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=table, Key=key)["Item"]
    return item


def stored_job(jobs: JobStore) -> dict[str, Any]:
    return raw_item(jobs.client, jobs.table, {"id": {"S": JOB_ID}})


def put_job(jobs: JobStore, **fields: Any) -> Job:
    job = Job(
        id=JOB_ID,
        type="email",
        queue="default",
        status="queued",
        priority=5,
        payload={"to": "a@example.com", "n": [1, 2.5, None]},
        max_attempts=3,
        timeout=60,
        created_at="2026-01-01 00:00:00",
        updated_at="2026-01-01 00:00:00",
        delay_until="2026-01-01 00:01:00",
        **fields,
    )
    jobs.put_new(job)
    return job


def without(item: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in names}


def test_a_new_job_item(jobs: JobStore) -> None:
    put_job(jobs)
    assert stored_job(jobs) == QUEUED_JOB


def test_a_bulk_created_job_item_is_the_same(jobs: JobStore) -> None:
    job = Job.model_validate(put_job(jobs).model_dump() | {"id": JOB_ID[:-1] + "9"})
    jobs.put_many([job])
    assert raw_item(jobs.client, jobs.table, {"id": {"S": job.id}}) == QUEUED_JOB | {"id": {"S": job.id}}


def test_job_items_through_start_and_complete(jobs: JobStore, fixed_clock: FakeClock) -> None:
    put_job(jobs)
    fixed_clock.advance(5)
    jobs.start(JOB_ID, 1)
    running = without(QUEUED_JOB, "delay_until") | {
        "status": {"S": "processing"},
        "attempts": {"N": "1"},
        "fence": {"N": "1"},  # the token of the lease that started it
        "updated_at": {"S": "2026-01-01 00:00:05"},
        "processed_at": {"S": "2026-01-01 00:00:05"},
    }
    assert stored_job(jobs) == running
    fixed_clock.advance(2)
    jobs.complete(JOB_ID, 1, {"sent": True, "ids": [1, 2]})
    assert stored_job(jobs) == running | {
        "status": {"S": "completed"},
        "result": {"S": '{"sent":true,"ids":[1,2]}'},
        "updated_at": {"S": "2026-01-01 00:00:07"},
        "expires_at": {"N": EXPIRES[7]},
    }


def test_job_items_through_requeue_fail_reopen_and_cancel(jobs: JobStore, fixed_clock: FakeClock) -> None:
    put_job(jobs)
    fixed_clock.advance(1)
    jobs.start(JOB_ID, 1)
    fixed_clock.advance(1)
    first = AttemptError.of(1, "2026-01-01 00:00:02", "boom", "Traceback...\nValueError: boom")
    jobs.requeue(JOB_ID, 1, "boom", due_ms=START_MS + 30_000, history=[first])
    requeued = without(QUEUED_JOB, "delay_until") | {
        "attempts": {"N": "1"},
        "fence": {"N": "1"},
        "processed_at": {"S": "2026-01-01 00:00:01"},
        "updated_at": {"S": "2026-01-01 00:00:02"},
        "error_message": {"S": "boom"},
        "delay_until": {"S": "2026-01-01 00:00:30"},
        "attempt_errors": {
            "S": '[{"attempt":1,"at":"2026-01-01 00:00:02","error":"boom",'
            '"traceback":"Traceback...\\nValueError: boom"}]'
        },
    }
    assert stored_job(jobs) == requeued

    fixed_clock.advance(1)
    jobs.start(JOB_ID, 2)
    second = AttemptError.of(2, "2026-01-01 00:00:03", "lease expired")
    jobs.requeue(JOB_ID, 2, "lease expired", due_ms=START_MS, history=[first, second])  # due already: no delay_until
    assert stored_job(jobs) == without(requeued, "delay_until") | {
        "attempts": {"N": "2"},
        "fence": {"N": "2"},
        "updated_at": {"S": "2026-01-01 00:00:03"},
        "error_message": {"S": "lease expired"},
        "attempt_errors": {
            "S": requeued["attempt_errors"]["S"][:-1]
            + ',{"attempt":2,"at":"2026-01-01 00:00:03","error":"lease expired","traceback":null}]'
        },
    }

    jobs.start(JOB_ID, 3)
    fixed_clock.advance(1)
    jobs.fail(JOB_ID, 3, "x" * 2500, history=[first])
    failed = without(requeued, "delay_until") | {
        "status": {"S": "failed"},
        "attempts": {"N": "3"},
        "fence": {"N": "3"},
        "error_message": {"S": "x" * 2000},
        "failed_at": {"S": "2026-01-01 00:00:04"},
        "updated_at": {"S": "2026-01-01 00:00:04"},
        "expires_at": {"N": EXPIRES[4]},
    }
    assert stored_job(jobs) == failed

    fixed_clock.advance(1)
    jobs.reopen(JOB_ID)
    reopened = without(failed, "error_message", "failed_at", "expires_at") | {
        "status": {"S": "queued"},
        "attempts": {"N": "0"},
        "updated_at": {"S": "2026-01-01 00:00:05"},
    }
    assert stored_job(jobs) == reopened

    fixed_clock.advance(1)
    jobs.revert_reopen(JOB_ID)
    assert stored_job(jobs) == reopened | {
        "status": {"S": "failed"},
        "failed_at": {"S": "2026-01-01 00:00:06"},
        "updated_at": {"S": "2026-01-01 00:00:06"},
        "expires_at": {"N": EXPIRES[6]},
    }

    fixed_clock.advance(1)
    jobs.cancel(JOB_ID)
    assert stored_job(jobs) == reopened | {
        "status": {"S": "cancelled"},
        "failed_at": {"S": "2026-01-01 00:00:06"},
        "updated_at": {"S": "2026-01-01 00:00:07"},
        "expires_at": {"N": EXPIRES[7]},
    }


def test_job_items_through_defer_and_cancel_waiting(jobs: JobStore, fixed_clock: FakeClock) -> None:
    put_job(jobs)
    fixed_clock.advance(1)
    jobs.start(JOB_ID, 1)
    fixed_clock.advance(1)
    jobs.defer_unstarted(JOB_ID, 1, due_ms=START_MS + 9_000)
    deferred = QUEUED_JOB | {
        "fence": {"N": "1"},  # the attempt is given back, the token stays spent
        "processed_at": {"S": "2026-01-01 00:00:01"},
        "updated_at": {"S": "2026-01-01 00:00:02"},
        "delay_until": {"S": "2026-01-01 00:00:09"},
    }
    assert stored_job(jobs) == deferred
    fixed_clock.advance(1)
    assert jobs.cancel_waiting([JOB_ID]) == 1
    assert stored_job(jobs) == deferred | {
        "status": {"S": "cancelled"},
        "updated_at": {"S": "2026-01-01 00:00:03"},
        "expires_at": {"N": EXPIRES[3]},
    }


def test_token_items_through_create_use_revoke_and_rotate(dynamodb: Any, fixed_clock: FakeClock) -> None:
    tokens = TokenStore(dynamodb, TABLE_NAMES["tokens_table"], clock=fixed_clock)
    created = tokens.create("ci", "worker", rate_limit=30, token_id="tok_0123456789ab")
    unlimited = tokens.create("ops", "full", token_id="tok_ba9876543210")

    def stored(token: str) -> dict[str, Any]:
        return raw_item(dynamodb, tokens.table, {"token_hash": {"S": hash_token(token)}})

    token_item = {
        "token_hash": {"S": hash_token(created.token)},
        "id": {"S": "tok_0123456789ab"},
        "name": {"S": "ci"},
        "scope": {"S": "worker"},
        "rate_limit": {"N": "30"},
        "created_at": {"S": "2026-01-01 00:00:00"},
        "revoked": {"BOOL": False},
    }
    assert stored(created.token) == token_item
    assert stored(unlimited.token) == {
        "token_hash": {"S": hash_token(unlimited.token)},
        "id": {"S": "tok_ba9876543210"},
        "name": {"S": "ops"},
        "scope": {"S": "full"},
        "created_at": {"S": "2026-01-01 00:00:00"},
        "revoked": {"BOOL": False},
    }

    fixed_clock.advance(1)
    tokens.authenticate(created.token)
    used = token_item | {"last_used_at": {"S": "2026-01-01 00:00:01"}}
    assert stored(created.token) == used

    fixed_clock.advance(1)
    rotated = tokens.rotate("tok_0123456789ab")
    revoked = used | {"revoked": {"BOOL": True}, "revoked_at": {"S": "2026-01-01 00:00:02"}}
    assert stored(created.token) == revoked
    assert stored(rotated.token) == token_item | {
        "token_hash": {"S": hash_token(rotated.token)},
        "created_at": {"S": "2026-01-01 00:00:02"},
    }

    fixed_clock.advance(1)
    tokens.revoke("tok_ba9876543210")
    assert stored(unlimited.token)["revoked_at"] == {"S": "2026-01-01 00:00:03"}


def test_run_items_through_create_start_batches_and_finish(dynamodb: Any, fixed_clock: FakeClock) -> None:
    runs = RunStore(dynamodb, TABLE_NAMES["runs_table"], clock=fixed_clock)

    def stored(part: str) -> dict[str, Any]:
        return raw_item(dynamodb, runs.table, {"run_id": {"S": RUN_ID}, "part": {"S": part}})

    runs.create(RUN_ID, "redis", "tok_0123456789ab")
    header = {
        "run_id": {"S": RUN_ID},
        "part": {"S": "run"},
        "kind": {"S": "run"},
        "status": {"S": "queued"},
        "mode": {"S": "redis"},
        "created_at": {"S": "2026-01-01 00:00:00"},
        "triggered_by": {"S": "tok_0123456789ab"},
        "status_counts": {"M": {}},
        "expires_at": {"N": EXPIRES[0]},
    }
    assert stored("run") == header

    fixed_clock.advance(1)
    assert runs.start(RUN_ID, sites_total=3, batches_total=2)
    started = header | {
        "status": {"S": "running"},
        "started_at": {"S": "2026-01-01 00:00:01"},
        "sites_total": {"N": "3"},
        "batches_total": {"N": "2"},
        "batches_done": {"N": "0"},
        "succeeded": {"N": "0"},  # the counts the finish is conditioned on exist from the start
        "failed": {"N": "0"},
    }
    assert stored("run") == started

    fixed_clock.advance(1)
    first = [
        SiteResult(site="https://a.example", status=200, duration_ms=12.5),
        SiteResult(site="https://b.example", duration_ms=3000.0, attempts=2, error="timeout"),
    ]
    runs.record_batch(RUN_ID, 0, first)
    assert stored("batch#00000") == {
        "run_id": {"S": RUN_ID},
        "part": {"S": "batch#00000"},
        "results": {
            "S": '[{"site":"https://a.example","status":200,"duration_ms":12.5,"attempts":1},'
            '{"site":"https://b.example","duration_ms":3000.0,"attempts":2,"error":"timeout"}]'
        },
        "expires_at": {"N": EXPIRES[2]},
    }
    fixed_clock.advance(1)
    second = [SiteResult(site="https://c.example", status=503, duration_ms=1.0)]
    assert runs.record_batch(RUN_ID, 1, second)
    assert runs.record_batch(RUN_ID, 1, second) is None  # a batch counts once
    reported = started | {
        "batches_done": {"N": "2"},
        "succeeded": {"N": "1"},
        "failed": {"N": "2"},
        "done_batches": {"NS": ["0", "1"]},
        "status_counts": {"M": {"200": {"N": "1"}, "503": {"N": "1"}, "error": {"N": "1"}}},
    }
    actual = stored("run")
    assert sorted(actual.pop("done_batches")["NS"]) == ["0", "1"]  # a set: DynamoDB keeps no order
    assert actual == without(reported, "done_batches")

    fixed_clock.advance(1)
    read = runs.get(RUN_ID, with_results=False)
    # Counts that moved since the run was read (a late batch): no finish on stale counts.
    assert runs.finish(read.model_copy(update={"failed": 1})) is None
    finished = runs.finish(read)
    assert finished is not None and finished.status == "completed_with_errors"
    actual = stored("run")
    actual.pop("done_batches")
    assert actual == without(reported, "done_batches") | {
        "status": {"S": "completed_with_errors"},
        "finished_at": {"S": "2026-01-01 00:00:04"},
        "duration_ms": {"N": "3000"},
    }


def test_site_items(dynamodb: Any, fixed_clock: FakeClock) -> None:
    sites = SiteStore(dynamodb, TABLE_NAMES["sites_table"], clock=fixed_clock)
    sites.put([Site(url="https://a.example", cron_url="https://a.example/cron"), Site(url="https://b.example")])
    sites.put([Site(url="https://c.example", enabled=False)])
    items = sorted(dynamodb.scan(TableName=sites.table)["Items"], key=lambda item: item["url"]["S"])
    assert items == [
        {
            "url": {"S": "https://a.example"},
            "cron_url": {"S": "https://a.example/cron"},
            "enabled": {"BOOL": True},
            "updated_at": {"S": "2026-01-01 00:00:00"},
        },
        {"url": {"S": "https://b.example"}, "enabled": {"BOOL": True}, "updated_at": {"S": "2026-01-01 00:00:00"}},
        {"url": {"S": "https://c.example"}, "enabled": {"BOOL": False}, "updated_at": {"S": "2026-01-01 00:00:00"}},
    ]
