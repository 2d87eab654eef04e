"""Call many cron URLs at once: bounded concurrency, a timeout per request, retries when the
connection itself fails, and one result per site (status code, duration, error). Every
connection goes through the outbound guard: a site at an internal address (or the deployment's
own endpoints) is a failed site, with the reason, and is not retried."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from relayq.domain.cron import CronTarget, SiteResult
from relayq.services.outbound import OutboundGuard, OutboundRefused


@dataclass(frozen=True)
class FanOutOptions:
    concurrency: int = 50
    timeout: float = 10.0
    connect_retries: int = 2
    home_url: str = ""
    retry_pause: float = 0.2
    # Public addresses only unless the guard allows more (the settings' QUEUE_OUTBOUND_ALLOW).
    guard: OutboundGuard = field(default_factory=OutboundGuard)


def _timed_out(error: HTTPError) -> bool:
    # NewConnectionError is a ConnectTimeoutError to urllib3 (it is raised for refusals too).
    return isinstance(error, Urllib3Timeout) and not isinstance(error, NewConnectionError)


def _connection_failed(error: HTTPError) -> bool:
    """Refused, reset, unreachable or name not found: the request never reached the site, so a
    retry is safe. A timeout may have reached it, and a second wp-cron call is not retried."""
    return isinstance(error, NewConnectionError | ProtocolError)


def call_site(http: urllib3.PoolManager, target: CronTarget, options: FanOutOptions) -> SiteResult:
    user_agent = f"All Sites Cron; {options.home_url or target.site.rstrip('/') + '/'}"
    started = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            # Site and cron URLs are validated as http(s) when stored (models.check_http_url).
            # wp-cron answers directly; a redirect means a wrong cron URL, recorded with its status.
            answer = http.request(
                "POST",
                target.url,
                body=b"",
                headers={"User-Agent": user_agent},
                timeout=urllib3.Timeout(total=options.timeout),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except OutboundRefused as error:
            return SiteResult(site=target.site, duration_ms=_ms(started), attempts=attempt, error=str(error))
        except HTTPError as error:
            if _connection_failed(error) and attempt <= options.connect_retries:
                time.sleep(options.retry_pause * 2 ** (attempt - 1))
                continue
            return SiteResult(site=target.site, duration_ms=_ms(started), attempts=attempt, error=_describe(error))
        answer.close()  # the status is the answer; the page is not read
        status = answer.status
        error_text = None if 200 <= status < 300 else f"HTTP {status}"
        return SiteResult(site=target.site, status=status, duration_ms=_ms(started), attempts=attempt, error=error_text)


def _describe(error: HTTPError) -> str:
    """``timed out``, or the cause as the socket reported it (``ConnectionRefusedError: ...``)."""
    if _timed_out(error):
        return "timed out"
    wrapped = error.args[1] if isinstance(error, ProtocolError) and len(error.args) > 1 else None
    reason = error.__cause__ or wrapped
    shown = reason if isinstance(reason, BaseException) else error
    return f"{type(shown).__name__}: {shown}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def fan_out(targets: Sequence[CronTarget], options: FanOutOptions) -> list[SiteResult]:
    """POST to every target, ``options.concurrency`` at a time; results in the targets' order."""
    if not targets:
        return []
    workers = min(options.concurrency, len(targets))
    with (
        options.guard.pool_manager(num_pools=max(workers, 10)) as http,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        return list(pool.map(lambda target: call_site(http, target, options), targets))
