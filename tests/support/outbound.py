"""Tests that run the outbound jobs against their own local servers allow-list exactly those
servers (``host:port``), as a deployment would list its internal targets: no blanket bypass."""

from __future__ import annotations

from urllib.parse import urlsplit

from relayq.domain.registry import JobRegistry
from relayq.job_types.api_sync import ApiSyncJob


def allowed(*urls: str) -> str:
    """The ``QUEUE_OUTBOUND_ALLOW`` value that lets exactly these servers be called."""
    return ",".join(urlsplit(url).netloc for url in urls)


def allow_api_sync(registry: JobRegistry, *urls: str) -> None:
    """Register ``api_sync`` again with these servers allow-listed."""
    registry.settings = registry.settings.model_copy(update={"outbound_allow": tuple(allowed(*urls).split(","))})
    registry.register(ApiSyncJob)
