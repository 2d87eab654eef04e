"""The redis-queue plugin's image_processing clients over HTTP against the local stack: the admin
page's test form (jQuery's PHP-style form fields) on the sample image ``make run`` seeds at
attachment id 1, and each payload shape its job class reads, sent as JSON. Each job must complete
with the result fields the plugin's job class returns. The watermark comes in through
``POST /uploads`` and the presigned form, as the dashboard sends it."""

from __future__ import annotations

import io
from typing import Any

import requests
from PIL import Image

from devstack.sample_image import SAMPLE_ATTACHMENT_ID
from tests.e2e.test_jobs import create, finished
from tests.support.stack import Api

# What the plugin's Image_Processing_Job returns, per operation.
PLUGIN_FIELDS = {
    "thumbnail": {"attachment_id", "generated_sizes", "failed_sizes", "total_sizes", "successful_sizes"},
    "optimize": {
        "attachment_id",
        "original_size",
        "new_size",
        "saved_bytes",
        "saved_percent",
        "quality",
        "format_changed",
    },
    "watermark": {"attachment_id", "watermark_id", "position", "coordinates", "opacity"},
    "bulk_thumbnails": {"total", "processed", "failed", "results"},
}


def completed(api: Api, job_id: str) -> dict[str, Any]:
    job = finished(api, job_id)
    assert job["status"] == "completed", job
    return job["result"]  # type: ignore[no-any-return]


def test_the_admin_forms_image_job_on_the_sample_image(api: Api) -> None:
    form = {
        "type": "image_processing",
        "payload[operation]": "thumbnail",
        "payload[attachment_id]": str(SAMPLE_ATTACHMENT_ID),
        "priority": "10",
        "queue": "default",
    }
    answer = api.post("/jobs", data=form)
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["success"] is True
    result = completed(api, answer.json()["job_id"])
    assert PLUGIN_FIELDS["thumbnail"] <= set(result)
    assert result["attachment_id"] == SAMPLE_ATTACHMENT_ID
    assert set(result["generated_sizes"]) == {"thumbnail", "medium", "medium_large", "large"}
    assert (result["total_sizes"], result["successful_sizes"], result["failed_sizes"]) == (4, 4, [])
    assert result["generated_sizes"]["thumbnail"]["width"] == result["generated_sizes"]["thumbnail"]["height"] == 150


def test_thumbnail_payload_with_sizes(api: Api) -> None:
    payload = {"operation": "thumbnail", "attachment_id": SAMPLE_ATTACHMENT_ID, "sizes": ["thumbnail", "medium"]}
    result = completed(api, create(api, type="image_processing", payload=payload))
    assert PLUGIN_FIELDS["thumbnail"] <= set(result)
    assert set(result["generated_sizes"]) == {"thumbnail", "medium"}


def test_optimize_payload(api: Api) -> None:
    payload = {"operation": "optimize", "attachment_id": SAMPLE_ATTACHMENT_ID, "quality": 70, "format": "webp"}
    result = completed(api, create(api, type="image_processing", payload=payload))
    assert PLUGIN_FIELDS["optimize"] <= set(result)
    assert (result["quality"], result["format_changed"]) == (70, True)
    assert result["saved_bytes"] == result["original_size"] - result["new_size"]


def upload_watermark(api: Api) -> int:
    """A small translucent mark through the upload API and its presigned form (what the dashboard does)."""
    answer = api.post("/uploads", json={"filename": "mark.png", "content_type": "image/png"})
    assert answer.status_code == 201, answer.text
    upload = answer.json()
    mark = io.BytesIO()
    Image.new("RGBA", (120, 40), (255, 255, 255, 200)).save(mark, format="PNG")
    posted = requests.post(
        upload["upload"]["url"],
        data=upload["upload"]["fields"],
        files={"file": ("mark.png", mark.getvalue(), "image/png")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    assert upload["attachment_id"] != SAMPLE_ATTACHMENT_ID
    return int(upload["attachment_id"])


def test_watermark_payload_with_an_uploaded_mark(api: Api) -> None:
    watermark_id = upload_watermark(api)
    payload = {
        "operation": "watermark",
        "attachment_id": SAMPLE_ATTACHMENT_ID,
        "watermark_id": watermark_id,
        "position": "top-right",
        "opacity": 80,
        "margin": 20,
    }
    result = completed(api, create(api, type="image_processing", payload=payload))
    assert PLUGIN_FIELDS["watermark"] <= set(result)
    # The sample is 1200 x 800: top-right, 20 px in.
    assert result["coordinates"] == {"x": 1200 - 120 - 20, "y": 20}
    assert (result["watermark_id"], result["position"], result["opacity"]) == (watermark_id, "top-right", 80)


def test_bulk_thumbnails_payload_with_a_missing_attachment(api: Api) -> None:
    payload = {"operation": "bulk_thumbnails", "attachment_ids": [SAMPLE_ATTACHMENT_ID, 987654], "sizes": ["thumbnail"]}
    result = completed(api, create(api, type="image_processing", payload=payload))
    assert PLUGIN_FIELDS["bulk_thumbnails"] <= set(result)
    assert (result["total"], result["processed"], result["failed"]) == (2, 1, 1)
    assert "thumbnail" in result["results"][str(SAMPLE_ATTACHMENT_ID)]["generated_sizes"]
    assert result["results"]["987654"]["error"].startswith("Image not found: attachment 987654")


def test_an_unknown_field_is_refused_naming_it(api: Api) -> None:
    answer = api.post(
        "/jobs", json={"type": "image_processing", "payload": {"attachment_id": SAMPLE_ATTACHMENT_ID, "colour": "red"}}
    )
    assert answer.status_code == 400, answer.text
    assert "colour" in answer.json()["message"]
