"""The built-in job types of the contract (``email``, ``image_processing``, ``api_sync``); the
container registers them in its registry. ``cron`` holds the all-sites cron's own two types."""

from __future__ import annotations

from relayq.domain.registry import JobRegistry

# Known by name, each module imported when a job of its type first comes: email's models load
# email-validator, images Pillow, and a function meets only some of the types (cold start).
BUILT_IN = {
    "email": "relayq.job_types.email:EmailJob",
    "image_processing": "relayq.job_types.image_processing:ImageProcessingJob",
    "api_sync": "relayq.job_types.api_sync:ApiSyncJob",
}


def register(registry: JobRegistry) -> None:
    for name, target in BUILT_IN.items():
        registry.defer(name, target)


__all__ = ["BUILT_IN", "register"]
