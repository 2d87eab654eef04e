"""The plugin's image operations against moto's S3, on attachment ids: what each writes (read back
from S3, down to the watermark's pixels), what each answers, and how a bad id ends."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from PIL import Image

from relayq.domain.errors import InvalidInput
from relayq.domain.models import NewJob
from relayq.services.jobs import JobService
from tests.integration.test_job_types import BUCKET, _built_in, run_one  # noqa: F401  (fixture)

RED = (200, 30, 30)


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def picture(size: tuple[int, int], colour: tuple[int, ...], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def attach(s3: Any, attachment_id: int, body: bytes) -> None:
    """Where an attachment lives by default (QUEUE_IMAGE_KEY_TEMPLATE = attachments/{attachment_id})."""
    s3.put_object(Bucket=BUCKET, Key=f"attachments/{attachment_id}", Body=body)


def stored(s3: Any, key: str) -> Image.Image:
    return Image.open(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


def image_job(service: JobService, **payload: Any) -> Any:
    return run_one(service, NewJob(type="image_processing", payload=payload))


def test_thumbnail_of_an_attachment_by_size_names_and_dimensions(service: JobService, s3: Any) -> None:
    attach(s3, 7, picture((1200, 800), RED))
    # An admin form sends the id as text.
    job = image_job(service, operation="thumbnail", attachment_id="7", sizes=["thumbnail", "medium", [500, 100]])
    assert job.status == "completed", job.error_message
    assert job.payload == {"operation": "thumbnail", "attachment_id": 7, "sizes": ["thumbnail", "medium", [500, 100]]}
    result = job.result
    assert (result["attachment_id"], result["total_sizes"], result["successful_sizes"]) == (7, 3, 3)
    assert result["failed_sizes"] == []
    generated = result["generated_sizes"]
    assert generated["thumbnail"] == {
        "file": "7-thumbnail.png",
        "key": "attachments/7-thumbnail.png",
        "width": 150,
        "height": 150,
        "mime-type": "image/png",
        "filesize": generated["thumbnail"]["filesize"],
    }
    assert (generated["medium"]["width"], generated["medium"]["height"]) == (300, 200)
    assert (generated["500x100"]["width"], generated["500x100"]["height"]) == (150, 100)
    for size in generated.values():
        assert stored(s3, size["key"]).size == (size["width"], size["height"])
    assert [v["name"] for v in result["variants"]] == ["thumbnail", "medium", "500x100"]  # ours, beside


def test_optimize_converts_and_reports_the_saving(service: JobService, s3: Any) -> None:
    attach(s3, 3, picture((400, 300), RED))
    job = image_job(service, operation="optimize", attachment_id=3, quality=60, format="webp")
    assert job.status == "completed", job.error_message
    result = job.result
    assert result["key"] == "attachments/3-optimized.webp" and result["format_changed"] is True
    assert (result["quality"], result["attachment_id"]) == (60, 3)
    assert result["saved_bytes"] == result["original_size"] - result["new_size"]
    assert result["saved_percent"] == round(result["saved_bytes"] * 100 / result["original_size"], 2)
    out = stored(s3, result["key"])
    assert (out.format, out.size) == ("WEBP", (400, 300))
    assert s3.head_object(Bucket=BUCKET, Key=result["key"])["ContentLength"] == result["new_size"]


def test_optimize_keeps_the_format_by_default(service: JobService, s3: Any) -> None:
    attach(s3, 4, picture((300, 200), RED, fmt="JPEG"))
    job = image_job(service, operation="optimize", attachment_id=4)
    assert job.status == "completed", job.error_message
    assert (job.result["key"], job.result["quality"], job.result["format_changed"]) == (
        "attachments/4-optimized.jpg",
        85,
        False,
    )
    assert stored(s3, "attachments/4-optimized.jpg").format == "JPEG"


def test_watermark_is_alpha_composited_at_its_position_and_opacity(service: JobService, s3: Any) -> None:
    attach(s3, 1, picture((200, 100), (0, 0, 0)))  # black
    attach(s3, 2, picture((40, 20), (255, 255, 255, 255), mode="RGBA"))  # an opaque white mark
    job = image_job(service, operation="watermark", attachment_id=1, watermark_id=2)  # bottom-right, 50 %, 10 px
    assert job.status == "completed", job.error_message
    result = job.result
    assert result["coordinates"] == {"x": 150, "y": 70}
    assert (result["position"], result["opacity"], result["watermark_id"]) == ("bottom-right", 50, 2)
    out = stored(s3, result["key"]).convert("RGB")
    assert result["key"] == "attachments/1-watermarked.png"
    # Inside the mark: white at 50 % over black; outside it (and in the margin): untouched black.
    assert out.getpixel((150, 70)) == out.getpixel((189, 89)) == (127, 127, 127)
    assert out.getpixel((149, 70)) == out.getpixel((190, 90)) == out.getpixel((195, 95)) == (0, 0, 0)
    assert out.getpixel((10, 10)) == (0, 0, 0)


def test_watermark_top_left_opaque_and_a_translucent_mark(service: JobService, s3: Any) -> None:
    attach(s3, 1, picture((100, 100), (0, 0, 200)))
    attach(s3, 2, picture((10, 10), (255, 0, 0, 128), mode="RGBA"))  # the mark's own alpha: half
    job = image_job(
        service, operation="watermark", attachment_id=1, watermark_id=2, position="top-left", opacity=100, margin=5
    )
    assert job.status == "completed", job.error_message
    assert job.result["coordinates"] == {"x": 5, "y": 5}
    out = stored(s3, job.result["key"]).convert("RGB")
    red, _, blue = out.getpixel((5, 5))  # type: ignore[misc]
    assert abs(red - 128) <= 1 and abs(blue - 100) <= 1  # half red over blue
    assert out.getpixel((4, 4)) == out.getpixel((15, 15)) == (0, 0, 200)


def test_a_mark_larger_than_the_image_is_scaled_into_the_margins(service: JobService, s3: Any) -> None:
    attach(s3, 1, picture((100, 50), (0, 0, 0)))
    attach(s3, 2, picture((400, 400), (255, 255, 255, 255), mode="RGBA"))
    job = image_job(service, operation="watermark", attachment_id=1, watermark_id=2, position="center", margin=10)
    assert job.status == "completed", job.error_message
    assert (job.result["watermark"]["width"], job.result["watermark"]["height"]) == (30, 30)
    assert job.result["coordinates"] == {"x": 35, "y": 10}


def test_a_missing_watermark_fails_with_its_id(service: JobService, s3: Any) -> None:
    attach(s3, 1, picture((100, 50), (0, 0, 0)))
    job = image_job(service, operation="watermark", attachment_id=1, watermark_id=99)
    assert job.status == "failed" and job.attempts == 1
    assert job.error_message == f"Image not found: attachment 99 (s3://{BUCKET}/attachments/99)"


def test_bulk_thumbnails_one_bad_id_does_not_fail_the_others(service: JobService, s3: Any) -> None:
    attach(s3, 1, picture((600, 400), RED))
    attach(s3, 2, picture((300, 300), RED))
    s3.put_object(Bucket=BUCKET, Key="attachments/3", Body=b"not a picture")
    job = image_job(service, operation="bulk_thumbnails", attachment_ids=[1, 404, 2, 3], sizes=["thumbnail"])
    assert job.status == "completed", job.error_message
    result = job.result
    assert (result["total"], result["processed"], result["failed"]) == (4, 2, 2)
    assert list(result["results"]) == ["1", "404", "2", "3"]
    assert result["results"]["404"] == {
        "attachment_id": 404,
        "error": f"Image not found: attachment 404 (s3://{BUCKET}/attachments/404)",
    }
    assert "is not a readable image" in result["results"]["3"]["error"]
    for attachment_id in ("1", "2"):
        thumbnail = result["results"][attachment_id]["generated_sizes"]["thumbnail"]
        assert stored(s3, thumbnail["key"]).size == (150, 150)


def test_a_missing_attachment_fails_with_a_clear_message(service: JobService, s3: Any) -> None:
    job = image_job(service, attachment_id=12345)
    assert job.status == "failed" and job.attempts == 1
    assert job.error_message == f"Image not found: attachment 12345 (s3://{BUCKET}/attachments/12345)"


def test_the_key_template_is_a_setting(service: JobService, s3: Any) -> None:
    registry = service.registry
    registry.settings = registry.settings.model_copy(update={"image_key_template": "media/{attachment_id}.img"})
    registry.register(type(registry.get("image_processing")))
    s3.put_object(Bucket=BUCKET, Key="media/5.img", Body=picture((64, 64), RED))
    job = image_job(service, attachment_id=5, sizes=["thumbnail"])
    assert job.status == "completed", job.error_message
    assert job.result["generated_sizes"]["thumbnail"]["key"] == "media/5-thumbnail.png"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"attachment_id": 1, "colour": "red"}, r"colour: Extra inputs are not permitted"),
        ({"operation": "resize", "attachment_id": 1}, r"operation: Input should be 'thumbnail'"),
        ({"operation": "thumbnail"}, r"needs attachment_id or key"),
        ({"attachment_id": 1, "sizes": ["huge"]}, r"unknown size 'huge'"),
        ({"operation": "watermark", "attachment_id": 1}, r"needs watermark_id or watermark_key"),
        ({"operation": "watermark", "attachment_id": 1, "watermark_id": 2, "position": "middle"}, r"position"),
        ({"operation": "optimize", "attachment_id": 1, "format": "bmp"}, r"format: 'bmp' is not one of"),
        ({"operation": "bulk_thumbnails"}, r"attachment_ids: required"),
        ({"operation": "bulk_thumbnails", "attachment_ids": ["x"]}, r"attachment_ids\.0"),
        ({"attachment_id": "abc"}, r"attachment_id: Input should be a valid integer"),
    ],
)
def test_bad_payloads_are_refused_at_enqueue_naming_the_field(
    service: JobService, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        service.create(NewJob(type="image_processing", payload=payload))
