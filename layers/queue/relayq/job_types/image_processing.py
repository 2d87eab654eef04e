"""``image_processing``: read an image from S3, write resized variants (thumbnails) back to S3."""

from __future__ import annotations

import io
import posixpath
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from relayq.domain.errors import InvalidInput
from relayq.domain.registry import JobContext, JobType, PermanentJobError
from relayq.job_types.aws_errors import job_error

# Larger sources are refused before download: a Lambda's memory holds the decoded image too.
MAX_SOURCE_BYTES = 40 * 1024 * 1024
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


class Variant(BaseModel):
    """``fit`` keeps the aspect ratio inside width x height (never enlarges); ``crop`` fills the
    box exactly and cuts the overflow, centred."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    width: int = Field(ge=1, le=8000)
    height: int = Field(ge=1, le=8000)
    mode: Literal["fit", "crop"] = "fit"
    format: Literal["JPEG", "PNG", "WEBP"] | None = None
    quality: int = Field(default=85, ge=1, le=100)


DEFAULT_VARIANTS = [
    Variant(name="thumbnail", width=150, height=150, mode="crop"),
    Variant(name="medium", width=300, height=300),
    Variant(name="large", width=1024, height=1024),
]


class ImagePayload(BaseModel):
    """Variants go to ``<output_prefix><name>.<ext>``; the prefix defaults to the source key
    without its extension plus ``-`` (``photos/cat.jpg`` -> ``photos/cat-thumbnail.jpg``)."""

    model_config = ConfigDict(extra="forbid")

    bucket: str | None = Field(default=None, min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)
    variants: list[Variant] = Field(default_factory=lambda: list(DEFAULT_VARIANTS), min_length=1, max_length=10)
    output_prefix: str | None = Field(default=None, max_length=900)


class ImageProcessingJob(JobType):
    name = "image_processing"
    payload_model = ImagePayload
    queue = "media"
    priority = 30
    timeout = 600

    def validate(self, payload: dict[str, Any]) -> dict[str, Any]:
        checked = super().validate(payload)
        if "bucket" not in checked and not self.settings.images_bucket:
            raise InvalidInput(
                "Invalid payload for job type 'image_processing': bucket: required (QUEUE_IMAGES_BUCKET is not set)"
            )
        return checked

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        from PIL import Image, ImageOps, UnidentifiedImageError  # only workers pay for the import

        job = ImagePayload.model_validate(payload)
        bucket = job.bucket or self.settings.images_bucket
        if not bucket:
            raise PermanentJobError("No bucket: set 'bucket' or QUEUE_IMAGES_BUCKET")
        s3 = self.aws.client("s3")
        source = f"s3://{bucket}/{job.key}"
        try:
            obj = s3.get_object(Bucket=bucket, Key=job.key)
            if obj["ContentLength"] > MAX_SOURCE_BYTES:
                raise PermanentJobError(f"{source} is {obj['ContentLength']} bytes; the limit is {MAX_SOURCE_BYTES}")
            data = obj["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                raise PermanentJobError(f"Image not found: {source}") from error
            raise job_error(error, f"Reading {source} failed") from error
        except BotoCoreError as error:
            raise job_error(error, f"Reading {source} failed") from error
        try:
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                image = ImageOps.exif_transpose(opened)
                source_format = opened.format or "JPEG"
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
            raise PermanentJobError(f"{source} is not a readable image: {error}") from error
        prefix = job.output_prefix if job.output_prefix is not None else posixpath.splitext(job.key)[0] + "-"
        written = []
        for variant in job.variants:
            fmt = variant.format or (source_format if source_format in FORMATS else "JPEG")
            extension, content_type = FORMATS[fmt]
            if variant.mode == "crop":
                resized = ImageOps.fit(image, (variant.width, variant.height))
            else:
                resized = image.copy()
                resized.thumbnail((variant.width, variant.height))
            if fmt == "JPEG" and resized.mode not in ("RGB", "L"):
                resized = resized.convert("RGB")
            buffer = io.BytesIO()
            resized.save(buffer, format=fmt, quality=variant.quality)
            key = f"{prefix}{variant.name}.{extension}"
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue(), ContentType=content_type)
            except (ClientError, BotoCoreError) as error:
                raise job_error(error, f"Writing s3://{bucket}/{key} failed") from error
            written.append(
                {
                    "name": variant.name,
                    "key": key,
                    "width": resized.width,
                    "height": resized.height,
                    "bytes": buffer.tell(),
                    "content_type": content_type,
                }
            )
        return {
            "bucket": bucket,
            "source": {"key": job.key, "width": image.width, "height": image.height, "format": source_format},
            "variants": written,
        }
