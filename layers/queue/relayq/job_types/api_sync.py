"""``api_sync``: call an external HTTP API and record its status and (bounded) response, in the
payload and result fields of the plugin's API sync job (``type``, ``url``, ``method``, ``data``;
``url``, ``method``, ``response_code``, ``response_body``) beside our own.

A 2xx answer completes the job. 5xx, 408, 429, timeouts and connection errors are retried
(honouring ``Retry-After``); other answers (4xx, a 3xx left after following redirects) fail at
once: the same request would get the same answer. So does a destination the
outbound guard refuses (an internal address, the deployment's own endpoints), redirects included."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import urllib3
from pydantic import AliasChoices, AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

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


Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# The admin page's test form names the type ``operation``.
OPERATIONS = {"social_media_post": "social_media", "crm_sync": "crm", "webhook": "webhook"}
# Types whose call sends something by default (the plugin's webhook posts; so do a social media
# post and a CRM sync, here made to the url given); the others fetch.
POSTING = frozenset({"webhook", "social_media", "crm"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The payload fields of the plugin's simulated integrations (Facebook/Twitter/LinkedIn,
# Salesforce/HubSpot, Google Analytics): nothing here can honour them.
INTEGRATION_FIELDS = ("platforms", "post_data", "crm_system", "provider", "metrics", "date_range")


class ApiSyncPayload(BaseModel):
    """``type`` generic (GET by default) or webhook (POST by default); social_media and crm are
    calls like a webhook's, analytics like a generic one, to the ``url`` given. ``data`` is the
    JSON body of a POST, PUT or PATCH and the query string of the other methods; ``body`` is sent
    as given instead (a string as is, an object or array as JSON)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["generic", "webhook", "social_media", "crm", "analytics"] = "generic"
    url: AnyHttpUrl = Field(validation_alias=AliasChoices("url", "api_url"))
    method: Method | None = None
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    data: dict[str, Any] | list[Any] | str | int | float | bool | None = None
    body: str | dict[str, Any] | list[Any] | None = None
    timeout: float = Field(default=30, gt=0, le=880)

    @model_validator(mode="before")
    @classmethod
    def _plugin_forms(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        data = dict(value)
        if "operation" in data:
            operation = data.pop("operation")
            if operation not in OPERATIONS:
                raise ValueError(f"operation: {operation!r} is not one of {', '.join(OPERATIONS)}")
            if data.setdefault("type", OPERATIONS[operation]) != OPERATIONS[operation]:
                raise ValueError(f"operation {operation!r} and type {data['type']!r} disagree")
        for name in INTEGRATION_FIELDS:
            if name in data:
                raise ValueError(
                    f"{name}: the plugin's built-in integrations are not provided here; "
                    "call the service's own API with 'url', 'headers' and 'data'"
                )
        if isinstance(data.get("data"), str):  # the admin page's textarea: JSON text
            try:
                data["data"] = json.loads(data["data"]) if data["data"].strip() else None
            except ValueError:
                raise ValueError("data: not valid JSON text") from None
        return data

    @model_validator(mode="after")
    def _method_and_body(self) -> ApiSyncPayload:
        if self.method is None:
            self.method = "POST" if self.type in POSTING else "GET"
        if self.data is not None and self.body is not None:
            raise ValueError("give 'data' (sent as JSON) or 'body' (sent as is), not both")
        if self.data is not None and self.method not in BODY_METHODS and not isinstance(self.data, dict):
            raise ValueError(f"data: a {self.method} request sends it as its query string, so it must be an object")
        return self

    def request_url(self) -> str:
        url = str(self.url)
        if self.data is None or self.method in BODY_METHODS:
            return url
        assert isinstance(self.data, dict)
        pairs = [(k, query_value(item)) for k, v in self.data.items() for item in (v if isinstance(v, list) else [v])]
        return url + ("&" if urlsplit(url).query else "?") + urlencode(pairs)

    def request_body(self) -> tuple[bytes | None, str | None]:
        """The body to send and its content type (None: leave the caller's)."""
        if self.data is not None and self.method in BODY_METHODS:
            return json.dumps(self.data).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), None
        if self.body is not None:
            return json.dumps(self.body).encode(), "application/json"
        return None, None


def query_value(value: Any) -> str:
    """A query value: text and numbers as they are, true/false/null and nested values as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


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
    queue = "api"
    priority = 40
    timeout = 300

    @cached_property
    def http(self) -> urllib3.PoolManager:
        """Connections reused across the jobs of one container, each opened through the guard."""
        return OutboundGuard.from_settings(self.settings).pool_manager(num_pools=20, maxsize=10, retries=RETRIES)

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        call = ApiSyncPayload.model_validate(payload)
        method = call.method or "GET"
        headers = dict(call.headers)
        body, content_type = call.request_body()
        if content_type and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = content_type
        # Never wait past the job's own deadline (its timeout started when the attempt did).
        seconds = max(0.1, min(call.timeout, (context.deadline_ms - now_ms()) / 1000))
        url = call.request_url()
        started = time.monotonic()
        try:
            response = self.http.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(total=seconds),
                preload_content=False,
            )
        except OutboundRefused as error:
            raise PermanentJobError(f"{method} {url}: {error}") from error
        except urllib3.exceptions.HTTPError as error:
            raise RetryableJobError(f"{method} {url} failed: {type(error).__name__}: {error}") from error
        try:
            limit = self.settings.api_sync_max_response_bytes
            raw = response.read(limit + 1) if method != "HEAD" else b""
        except urllib3.exceptions.HTTPError as error:
            raise RetryableJobError(f"{method} {url}: reading the response failed: {error}") from error
        finally:
            response.release_conn()
        status = response.status
        reason = f"{method} {url} answered HTTP {status}"
        if status >= 500 or status in RETRYABLE_STATUS:
            raise RetryableJobError(reason, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        if not 200 <= status < 300:
            raise PermanentJobError(f"{reason}: {raw[:200].decode(errors='replace')}")
        truncated = len(raw) > limit
        text = raw[:limit].decode(errors="replace")
        content: Any = text
        if not truncated and "json" in response.headers.get("Content-Type", "") and text:
            try:
                content = json.loads(text)
            except ValueError:
                content = text
        result = {
            "url": url,
            "method": method,
            "response_code": status,
            "response_body": text,
            "sync_type": call.type,
            "status": status,
            "content_type": response.headers.get("Content-Type"),
            "body": content,
            "truncated": truncated,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        }
        if call.data is not None:
            result["request_data"] = call.data
        return result
