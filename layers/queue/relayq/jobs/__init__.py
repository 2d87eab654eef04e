"""The built-in job types of the contract (``email``, ``image_processing``, ``api_sync``),
registered in ``relayq.registry.registry`` when this package is imported."""

from __future__ import annotations

from ..registry import registry
from .api_sync import ApiSyncJob
from .email import EmailJob
from .image_processing import ImageProcessingJob

BUILT_IN = (EmailJob, ImageProcessingJob, ApiSyncJob)
for _cls in BUILT_IN:
    registry.register(_cls)

__all__ = ["BUILT_IN", "ApiSyncJob", "EmailJob", "ImageProcessingJob"]
