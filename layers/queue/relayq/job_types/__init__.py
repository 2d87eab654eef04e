"""The built-in job types of the contract (``email``, ``image_processing``, ``api_sync``); the
container registers them in its registry. ``cron`` holds the all-sites cron's own two types."""

from __future__ import annotations

from relayq.domain.registry import JobRegistry, JobType
from relayq.job_types.api_sync import ApiSyncJob
from relayq.job_types.email import EmailJob
from relayq.job_types.image_processing import ImageProcessingJob

BUILT_IN: tuple[type[JobType], ...] = (EmailJob, ImageProcessingJob, ApiSyncJob)


def register(registry: JobRegistry) -> None:
    for cls in BUILT_IN:
        registry.register(cls)


__all__ = ["BUILT_IN", "ApiSyncJob", "EmailJob", "ImageProcessingJob", "register"]
