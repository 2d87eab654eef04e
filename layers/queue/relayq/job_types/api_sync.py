"""``api_sync``: call an external HTTP API and record its status and (bounded) response.

5xx, 408, 429, timeouts and connection errors are retried (honouring ``Retry-After``); other 4xx
answers fail at once: the same request would get the same answer. So does a destination the
outbound guard refuses (an internal address, the deployment's own endpoints), redirects included."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any, Literal

import urllib3
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from relayq.domain.clock import now_ms
from relayq.domain.registry import JobContext, JobType, PermanentJobError, RetryableJobError
from relayq.services.outbound import OutboundGuard, OutboundRefused

RETRYABLE_STATUS = frozenset({408, 425, 429})
# A Retry-After further out than this is capped: the job's own backoff stays in charge.
MAX_RETRY_AFTER = 24 * 3600
# Retries are the queue's, not urllib3's; redirects are followed, each through the guard.
RETRIES = urllib3.Retry(
    total=5,
    connect=0,
    read=0,
    status=0,
    other=0,
    redirect=5,
    raise_on_redirect=False,
    respect_retry_after_header=False,
)


class ApiSyncPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    # A string is sent as is; an object or array is sent as JSON.
    body: str | dict[str, Any] | list[Any] | None = None
    timeout: float = Field(default=30, gt=0, le=880)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


class ApiSyncJob(JobType):
    name = "api_sync"
    payload_model = ApiSyncPayload
    timeout = 60

    @cached_property
    def http(self) -> urllib3.PoolManager:
        """Connections reused across the jobs of one container, each opened through the guard."""
        return OutboundGuard.from_settings(self.settings).pool_manager(num_pools=20, maxsize=10, retries=RETRIES)

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        call = ApiSyncPayload.model_validate(payload)
        headers = dict(call.headers)
        body: bytes | None = None
        if isinstance(call.body, str):
            body = call.body.encode()
        elif call.body is not None:
            body = json.dumps(call.body).encode()
            headers.setdefault("Content-Type", "application/json")
        # Never wait past the job's own deadline (its timeout started when the attempt did).
        seconds = max(0.1, min(call.timeout, (context.deadline_ms - now_ms()) / 1000))
        url = str(call.url)
        started = time.monotonic()
        try:
            response = self.http.request(
                call.method,
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(total=seconds),
                preload_content=False,
            )
        except OutboundRefused as error:
            raise PermanentJobError(f"{call.method} {url}: {error}") from error
        except urllib3.exceptions.HTTPError as error:
            raise RetryableJobError(f"{call.method} {url} failed: {type(error).__name__}: {error}") from error
        try:
            limit = self.settings.api_sync_max_response_bytes
            raw = response.read(limit + 1) if call.method != "HEAD" else b""
        except urllib3.exceptions.HTTPError as error:
            raise RetryableJobError(f"{call.method} {url}: reading the response failed: {error}") from error
        finally:
            response.release_conn()
        status = response.status
        reason = f"{call.method} {url} answered HTTP {status}"
        if status >= 500 or status in RETRYABLE_STATUS:
            raise RetryableJobError(reason, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        if status >= 400:
            raise PermanentJobError(f"{reason}: {raw[:200].decode(errors='replace')}")
        truncated = len(raw) > limit
        text = raw[:limit].decode(errors="replace")
        content: Any = text
        if not truncated and "json" in response.headers.get("Content-Type", "") and text:
            try:
                content = json.loads(text)
            except ValueError:
                content = text
        return {
            "status": status,
            "content_type": response.headers.get("Content-Type"),
            "body": content,
            "truncated": truncated,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        }
