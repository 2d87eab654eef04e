"""Call many cron URLs at once: bounded concurrency, a timeout per request, retries when the
connection itself fails, and one result per site (status code, duration, error)."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from relayq.domain.cron import CronTarget, SiteResult


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """wp-cron answers directly; a redirect means a wrong cron URL, recorded with its status."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class FanOutOptions:
    concurrency: int = 50
    timeout: float = 10.0
    connect_retries: int = 2
    home_url: str = ""
    retry_pause: float = 0.2


def _connection_failed(error: BaseException) -> bool:
    """Refused, reset, unreachable or name not found: the request never reached the site, so a
    retry is safe. A timeout may have reached it, and a second wp-cron call is not retried."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return isinstance(reason, OSError) and not isinstance(reason, TimeoutError | socket.timeout)


def call_site(target: CronTarget, options: FanOutOptions) -> SiteResult:
    user_agent = f"All Sites Cron; {options.home_url or target.site.rstrip('/') + '/'}"
    # Site and cron URLs are validated as http(s) when stored (models.check_http_url).
    request = urllib.request.Request(target.url, data=b"", method="POST", headers={"User-Agent": user_agent})  # noqa: S310
    started = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            with _OPENER.open(request, timeout=options.timeout) as answer:
                status = int(answer.status)
            return SiteResult(site=target.site, status=status, duration_ms=_ms(started), attempts=attempt)
        except urllib.error.HTTPError as error:
            return SiteResult(
                site=target.site,
                status=error.code,
                duration_ms=_ms(started),
                attempts=attempt,
                error=f"HTTP {error.code}",
            )
        except (urllib.error.URLError, OSError) as error:
            if _connection_failed(error) and attempt <= options.connect_retries:
                time.sleep(options.retry_pause * 2 ** (attempt - 1))
                continue
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            return SiteResult(site=target.site, duration_ms=_ms(started), attempts=attempt, error=_describe(reason))


def _describe(reason: object) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    return f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def fan_out(targets: Sequence[CronTarget], options: FanOutOptions) -> list[SiteResult]:
    """POST to every target, ``options.concurrency`` at a time; results in the targets' order."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(options.concurrency, len(targets))) as pool:
        return list(pool.map(lambda target: call_site(target, options), targets))
