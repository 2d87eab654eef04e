"""Presigned uploads: a browser (the dashboard) or curl posts an image straight to S3, then an
``image_processing`` job names it by its attachment id. The API never sees the file's bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from relayq.domain.errors import InvalidInput, UploadsNotConfigured
from relayq.dynamodb.counters import ATTACHMENT_IDS, Counters
from relayq.settings import Settings


@dataclass(frozen=True)
class Upload:
    attachment_id: int
    bucket: str
    key: str
    url: str
    fields: dict[str, str]
    expires_in: int


class Uploads:
    """``s3``: a client that signs with SigV4 (what presigned POST needs on every S3 endpoint)."""

    def __init__(self, settings: Settings, counters: Counters, s3: Any) -> None:
        self.settings = settings
        self.counters = counters
        self.s3 = s3

    def create(self, filename: str, content_type: str) -> Upload:
        """A new attachment id and an S3 presigned POST to its key that only accepts a file of
        ``content_type`` (one of the allowed image types) up to ``QUEUE_UPLOAD_MAX_BYTES``."""
        settings = self.settings
        if not settings.images_bucket:
            raise UploadsNotConfigured()
        content_type = content_type.strip().lower()
        if content_type not in settings.upload_content_types:
            allowed = ", ".join(settings.upload_content_types)
            raise InvalidInput(
                f"Invalid parameter(s): content_type ('{content_type}' is not accepted; allowed: {allowed}).",
                params={"content_type": f"one of {allowed}"},
            )
        attachment_id = self.counters.next(ATTACHMENT_IDS)
        key = settings.image_key_template.format(attachment_id=attachment_id)
        # S3 metadata travels as HTTP headers: the name is kept percent-encoded so any name fits.
        fields = {"Content-Type": content_type, "x-amz-meta-filename": quote(filename, safe="")}
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, settings.upload_max_bytes])
        post = self.s3.generate_presigned_post(
            Bucket=settings.images_bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=settings.upload_expires_seconds,
        )
        return Upload(
            attachment_id, settings.images_bucket, key, post["url"], post["fields"], settings.upload_expires_seconds
        )
