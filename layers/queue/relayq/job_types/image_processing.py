"""``image_processing``: the plugin's four operations on images kept in S3.

``thumbnail`` (the default) writes resized sizes, ``optimize`` re-encodes (quality, format),
``watermark`` draws another image over it with alpha compositing, ``bulk_thumbnails`` makes the
thumbnails of many attachments, each on its own. An image is named by ``key`` (and ``bucket``) or,
as the plugin names it, by ``attachment_id``: the key ``QUEUE_IMAGE_KEY_TEMPLATE`` gives it
(``attachments/{attachment_id}`` by default) in ``QUEUE_IMAGES_BUCKET``. Outputs go beside the
source: ``<key without extension>-<size>.<ext>``, ``-optimized.<ext>``, ``-watermarked.<ext>``
(the plugin overwrites the original; here it is kept).
"""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from relayq.domain.errors import InvalidInput
from relayq.domain.registry import JobContext, JobType, PermanentJobError
from relayq.job_types.aws_errors import job_error

if TYPE_CHECKING:
    from PIL.Image import Image

# Larger sources are refused before download: a Lambda's memory holds the decoded image too.
MAX_SOURCE_BYTES = 40 * 1024 * 1024
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
# ``format`` as the plugin's callers write it (a file extension or a MIME subtype), any case.
FORMAT_NAMES = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
# A fit box side of 0 means "no limit" (WordPress' medium_large is 768 x 0).
UNLIMITED = 1 << 30

Position = Literal[
    "top-left",
    "top-center",
    "top-right",
    "center-left",
    "center",
    "center-right",
    "bottom-left",
    "bottom-center",
    "bottom-right",
]


class Variant(BaseModel):
    """``fit`` keeps the aspect ratio inside width x height (never enlarges; a side of 0 is not
    limited); ``crop`` fills the box exactly and cuts the overflow, centred."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    width: int = Field(ge=0, le=8000)
    height: int = Field(ge=0, le=8000)
    mode: Literal["fit", "crop"] = "fit"
    format: Literal["JPEG", "PNG", "WEBP"] | None = None
    quality: int = Field(default=85, ge=1, le=100)

    @model_validator(mode="after")
    def _has_a_box(self) -> Variant:
        if self.width == 0 and self.height == 0:
            raise ValueError("width and height cannot both be 0")
        if self.mode == "crop" and 0 in (self.width, self.height):
            raise ValueError("a crop needs both width and height")
        return self


# WordPress' default image sizes (Settings > Media and core's own), the names ``sizes`` may use.
WORDPRESS_SIZES = {
    "thumbnail": Variant(name="thumbnail", width=150, height=150, mode="crop"),
    "medium": Variant(name="medium", width=300, height=300),
    "medium_large": Variant(name="medium_large", width=768, height=0),
    "large": Variant(name="large", width=1024, height=1024),
    "1536x1536": Variant(name="1536x1536", width=1536, height=1536),
    "2048x2048": Variant(name="2048x2048", width=2048, height=2048),
}
# The plugin's default when no size is named: WordPress' four registered sizes.
DEFAULT_SIZES = ("thumbnail", "medium", "medium_large", "large")


def _comma_list(value: object) -> object:
    # A form sends `payload[sizes]=thumbnail,medium` or `payload[attachment_ids]=1,2` as one text.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def size_variant(size: str | list[int]) -> Variant:
    """A ``sizes`` entry: a WordPress size name, or ``[width, height]`` (fit, named ``WxH``)."""
    if isinstance(size, str):
        if size not in WORDPRESS_SIZES:
            raise ValueError(f"unknown size '{size}' (known: {', '.join(WORDPRESS_SIZES)}, or [width, height])")
        return WORDPRESS_SIZES[size]
    if len(size) != 2:
        raise ValueError("a size given by its dimensions is [width, height]")
    width, height = size
    return Variant(name=f"{width}x{height}", width=width, height=height)


class ImagePayload(BaseModel):
    """The plugin's payload fields with ours beside them: ``key``/``bucket`` name an object
    directly, ``variants`` give sizes in full, ``output_prefix`` moves the outputs."""

    model_config = ConfigDict(extra="forbid")

    operation: Literal["thumbnail", "optimize", "watermark", "bulk_thumbnails"] = "thumbnail"
    attachment_id: int | None = Field(default=None, ge=1)
    key: str | None = Field(default=None, min_length=1, max_length=1024)
    bucket: str | None = Field(default=None, min_length=3, max_length=63)
    output_prefix: str | None = Field(default=None, max_length=900)
    # thumbnail, bulk_thumbnails
    sizes: Annotated[list[str | list[int]] | None, BeforeValidator(_comma_list)] = Field(
        default=None, min_length=1, max_length=10
    )
    variants: list[Variant] | None = Field(default=None, min_length=1, max_length=10)
    attachment_ids: Annotated[list[int] | None, BeforeValidator(_comma_list)] = Field(
        default=None, min_length=1, max_length=100
    )
    # optimize
    quality: int = Field(default=85, ge=1, le=100)
    format: str = Field(default="keep", description="keep, jpeg (jpg), png or webp")
    # watermark
    watermark_id: int | None = Field(default=None, ge=1)
    watermark_key: str | None = Field(default=None, min_length=1, max_length=1024)
    position: Position = "bottom-right"
    opacity: int = Field(default=50, ge=0, le=100)
    margin: int = Field(default=10, ge=0, le=2000)

    @model_validator(mode="after")
    def _what_the_operation_needs(self) -> ImagePayload:
        if self.format.lower() != "keep" and self.format.lower().removeprefix("image/") not in FORMAT_NAMES:
            raise ValueError(f"format: '{self.format}' is not one of keep, {', '.join(FORMAT_NAMES)}")
        if self.sizes is not None and self.variants is not None:
            raise ValueError("give 'sizes' or 'variants', not both")
        for size in self.sizes or ():
            try:
                size_variant(size)  # a bad size is refused at enqueue, naming it
            except ValidationError as error:
                raise ValueError(f"sizes: {size}: {error.errors()[0]['msg']}") from None
        if self.operation == "bulk_thumbnails":
            if not self.attachment_ids:
                raise ValueError("attachment_ids: required by operation 'bulk_thumbnails'")
            if self.attachment_id is not None or self.key is not None:
                raise ValueError("operation 'bulk_thumbnails' takes attachment_ids, not attachment_id or key")
            if any(n < 1 for n in self.attachment_ids):
                raise ValueError("attachment_ids: each id is 1 or more")
        elif (self.attachment_id is None) == (self.key is None):
            raise ValueError(f"operation '{self.operation}' needs attachment_id or key (one of them)")
        if self.operation == "watermark" and (self.watermark_id is None) == (self.watermark_key is None):
            raise ValueError("operation 'watermark' needs watermark_id or watermark_key (one of them)")
        return self

    def variant_list(self) -> list[Variant]:
        if self.variants is not None:
            return self.variants
        return [size_variant(size) for size in self.sizes or DEFAULT_SIZES]

    def output_format(self) -> str | None:
        """The PIL format ``optimize`` writes; None keeps the source's."""
        name = self.format.lower().removeprefix("image/")
        return None if name == "keep" else FORMAT_NAMES[name]


def watermark_position(
    image_size: tuple[int, int], mark_size: tuple[int, int], position: str, margin: int
) -> tuple[int, int]:
    """Top-left corner of the mark: ``margin`` from the named edges, centred on the others, never
    off the top or left edge (the plugin's rule)."""
    (width, height), (mark_width, mark_height) = image_size, mark_size
    vertical, _, horizontal = position.partition("-") if position != "center" else ("center", "", "center")
    x = {"left": margin, "center": (width - mark_width) // 2, "right": width - mark_width - margin}[horizontal]
    y = {"top": margin, "center": (height - mark_height) // 2, "bottom": height - mark_height - margin}[vertical]
    return max(0, x), max(0, y)


@dataclass(frozen=True)
class Source:
    bucket: str
    key: str
    image: Image
    format: str
    bytes: int

    @property
    def prefix(self) -> str:
        return posixpath.splitext(self.key)[0] + "-"

    def described(self) -> dict[str, Any]:
        return {"key": self.key, "width": self.image.width, "height": self.image.height, "format": self.format}


def encode(image: Image, fmt: str, quality: int) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=quality, optimize=True)
    return buffer.getvalue()


class ImageProcessingJob(JobType):
    name = "image_processing"
    payload_model = ImagePayload
    queue = "media"
    priority = 30
    timeout = 600

    def validate(self, payload: dict[str, Any]) -> dict[str, Any]:
        super().validate(payload)  # refuses a bad payload, naming the field
        # The record keeps what the caller gave (coerced: a form's "123" is 123), not every default.
        checked = ImagePayload.model_validate(payload).model_dump(mode="json", exclude_unset=True, exclude_none=True)
        if "bucket" not in checked and not self.settings.images_bucket:
            raise InvalidInput(
                "Invalid payload for job type 'image_processing': bucket: required (QUEUE_IMAGES_BUCKET is not set)"
            )
        return checked

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        job = ImagePayload.model_validate(payload)
        bucket = job.bucket or self.settings.images_bucket
        if not bucket:
            raise PermanentJobError("No bucket: set 'bucket' or QUEUE_IMAGES_BUCKET")
        if job.operation == "bulk_thumbnails":
            return self.bulk_thumbnails(job, bucket)
        source = self.read(bucket, job.key, job.attachment_id)
        named = {"attachment_id": job.attachment_id} if job.attachment_id is not None else {}
        result = {"thumbnail": self.thumbnails, "optimize": self.optimize, "watermark": self.watermark}[job.operation](
            job, source
        )
        return {"operation": job.operation, **named, **result}

    # --- S3 -------------------------------------------------------------------------------------

    def key_of(self, attachment_id: int) -> str:
        return self.settings.image_key_template.format(attachment_id=attachment_id)

    def read(self, bucket: str, key: str | None, attachment_id: int | None) -> Source:
        from PIL import Image, ImageOps, UnidentifiedImageError  # only workers pay for the import

        if key is None:
            assert attachment_id is not None  # the payload model requires one of them
            key = self.key_of(attachment_id)
        where = f"s3://{bucket}/{key}"
        what = f"attachment {attachment_id} ({where})" if attachment_id is not None else where
        s3 = self.aws.client("s3")
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
            if obj["ContentLength"] > MAX_SOURCE_BYTES:
                raise PermanentJobError(f"{what} is {obj['ContentLength']} bytes; the limit is {MAX_SOURCE_BYTES}")
            data = obj["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                raise PermanentJobError(f"Image not found: {what}") from error
            raise job_error(error, f"Reading {where} failed") from error
        except BotoCoreError as error:
            raise job_error(error, f"Reading {where} failed") from error
        try:
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                image = ImageOps.exif_transpose(opened)
                source_format = opened.format or "JPEG"
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
            raise PermanentJobError(f"{what} is not a readable image: {error}") from error
        return Source(bucket, key, image, source_format, len(data))

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        try:
            self.aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as error:
            raise job_error(error, f"Writing s3://{bucket}/{key} failed") from error

    def output_key(self, job: ImagePayload, source: Source, name: str, extension: str) -> str:
        prefix = job.output_prefix if job.output_prefix is not None else source.prefix
        return f"{prefix}{name}.{extension}"

    def kept_format(self, source: Source) -> str:
        return source.format if source.format in FORMATS else "JPEG"

    # --- operations -----------------------------------------------------------------------------

    def thumbnails(self, job: ImagePayload, source: Source) -> dict[str, Any]:
        """Our ``variants`` list, and the plugin's ``generated_sizes`` (size name -> WordPress'
        intermediate size fields) with its counts."""
        from PIL import ImageOps

        written: list[dict[str, Any]] = []
        generated: dict[str, Any] = {}
        for variant in job.variant_list():
            fmt = variant.format or self.kept_format(source)
            extension, content_type = FORMATS[fmt]
            if variant.mode == "crop":
                resized = ImageOps.fit(source.image, (variant.width, variant.height))
            else:
                resized = source.image.copy()
                resized.thumbnail((variant.width or UNLIMITED, variant.height or UNLIMITED))
            body = encode(resized, fmt, variant.quality)
            key = self.output_key(job, source, variant.name, extension)
            self.write(source.bucket, key, body, content_type)
            size = {"width": resized.width, "height": resized.height}
            written.append({"name": variant.name, "key": key, **size, "bytes": len(body), "content_type": content_type})
            generated[variant.name] = {
                "file": posixpath.basename(key),
                "key": key,
                **size,
                "mime-type": content_type,
                "filesize": len(body),
            }
        return {
            "generated_sizes": generated,
            "failed_sizes": [],
            "total_sizes": len(written),
            "successful_sizes": len(generated),
            "bucket": source.bucket,
            "source": source.described(),
            "variants": written,
        }

    def optimize(self, job: ImagePayload, source: Source) -> dict[str, Any]:
        fmt = job.output_format() or self.kept_format(source)
        extension, content_type = FORMATS[fmt]
        body = encode(source.image, fmt, job.quality)
        key = self.output_key(job, source, "optimized", extension)
        self.write(source.bucket, key, body, content_type)
        saved = source.bytes - len(body)
        return {
            "original_size": source.bytes,
            "new_size": len(body),
            "saved_bytes": saved,
            "saved_percent": round(saved * 100 / source.bytes, 2) if source.bytes else 0,
            "quality": job.quality,
            "format_changed": fmt != source.format,
            "bucket": source.bucket,
            "source": source.described(),
            "key": key,
            "format": fmt,
            "content_type": content_type,
        }

    def watermark(self, job: ImagePayload, source: Source) -> dict[str, Any]:
        """The mark (scaled down to fit inside the margins if larger) at ``opacity`` percent of
        its own alpha, alpha-composited over the image."""
        from PIL import Image

        mark_source = self.read(source.bucket, job.watermark_key, job.watermark_id)
        base = source.image.convert("RGBA")
        mark = mark_source.image.convert("RGBA")
        room = (max(1, base.width - 2 * job.margin), max(1, base.height - 2 * job.margin))
        if mark.width > room[0] or mark.height > room[1]:
            mark.thumbnail(room)
        alpha = mark.getchannel("A").point(lambda value: value * job.opacity // 100)
        mark.putalpha(alpha)
        x, y = watermark_position(base.size, mark.size, job.position, job.margin)
        layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
        layer.paste(mark, (x, y))
        marked = Image.alpha_composite(base, layer)
        fmt = self.kept_format(source)
        extension, content_type = FORMATS[fmt]
        body = encode(marked, fmt, job.quality)
        key = self.output_key(job, source, "watermarked", extension)
        self.write(source.bucket, key, body, content_type)
        named = {"watermark_id": job.watermark_id} if job.watermark_id is not None else {}
        return {
            **named,
            "position": job.position,
            "coordinates": {"x": x, "y": y},
            "opacity": job.opacity,
            "bucket": source.bucket,
            "source": source.described(),
            "watermark": {**mark_source.described(), "width": mark.width, "height": mark.height},
            "key": key,
            "width": marked.width,
            "height": marked.height,
            "content_type": content_type,
        }

    def bulk_thumbnails(self, job: ImagePayload, bucket: str) -> dict[str, Any]:
        """Each attachment on its own: one that is missing or unreadable is reported in its entry
        and the others are still made. An S3 error worth a retry retries the whole job (the
        outputs are rewritten, the same)."""
        assert job.attachment_ids is not None  # the payload model requires them
        results: dict[str, Any] = {}
        for attachment_id in dict.fromkeys(job.attachment_ids):
            try:
                source = self.read(bucket, None, attachment_id)
                results[str(attachment_id)] = {"attachment_id": attachment_id, **self.thumbnails(job, source)}
            except PermanentJobError as error:
                results[str(attachment_id)] = {"attachment_id": attachment_id, "error": str(error)}
        failed = sum(1 for entry in results.values() if "error" in entry)
        return {
            "operation": job.operation,
            "total": len(results),
            "processed": len(results) - failed,
            "failed": failed,
            "results": results,
        }
