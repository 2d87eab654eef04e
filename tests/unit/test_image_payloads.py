"""The image_processing payload as the plugin's callers write it, the sizes it names, where a
watermark goes, and the attachment key template setting."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from relayq.job_types.image_processing import ImagePayload, size_variant, watermark_position
from relayq.settings import Settings


def test_the_admin_form_payload_is_a_thumbnail_of_all_default_sizes() -> None:
    payload = ImagePayload.model_validate({"operation": "thumbnail", "attachment_id": "123"})
    assert payload.attachment_id == 123
    assert [(v.name, v.width, v.height, v.mode) for v in payload.variant_list()] == [
        ("thumbnail", 150, 150, "crop"),
        ("medium", 300, 300, "fit"),
        ("medium_large", 768, 0, "fit"),
        ("large", 1024, 1024, "fit"),
    ]


def test_operation_defaults_to_thumbnail_and_the_plugins_defaults_hold() -> None:
    payload = ImagePayload.model_validate({"attachment_id": 1})
    assert (payload.operation, payload.quality, payload.format) == ("thumbnail", 85, "keep")
    assert (payload.position, payload.opacity, payload.margin) == ("bottom-right", 50, 10)


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        (["large"], [("large", 1024, 1024)]),
        ([[640, 480]], [("640x480", 640, 480)]),
        ("thumbnail, medium", [("thumbnail", 150, 150), ("medium", 300, 300)]),  # one form field
        (["1536x1536", [0, 200]], [("1536x1536", 1536, 1536), ("0x200", 0, 200)]),
    ],
)
def test_sizes_by_name_or_dimensions(sizes: Any, expected: list[tuple[str, int, int]]) -> None:
    payload = ImagePayload.model_validate({"attachment_id": 1, "sizes": sizes})
    assert [(v.name, v.width, v.height) for v in payload.variant_list()] == expected


def test_a_form_may_list_the_attachment_ids_in_one_field() -> None:
    payload = ImagePayload.model_validate({"operation": "bulk_thumbnails", "attachment_ids": "3, 5,8"})
    assert payload.attachment_ids == [3, 5, 8]
    listed = ImagePayload.model_validate({"operation": "bulk_thumbnails", "attachment_ids": ["3", "5"]})
    assert listed.attachment_ids == [3, 5]  # payload[attachment_ids][]=3&payload[attachment_ids][]=5


def test_a_size_name_not_known_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown size 'huge' \(known: thumbnail, medium, medium_large, large"):
        size_variant("huge")


def test_format_takes_extensions_and_mime_subtypes() -> None:
    formats = {
        name: ImagePayload.model_validate({"operation": "optimize", "attachment_id": 1, "format": name}).output_format()
        for name in ("keep", "jpg", "JPEG", "image/webp", "png")
    }
    assert formats == {"keep": None, "jpg": "JPEG", "JPEG": "JPEG", "image/webp": "WEBP", "png": "PNG"}


@pytest.mark.parametrize(
    "payload",
    [
        {"attachment_id": 1, "key": "a.png"},  # two names for one image
        {"operation": "bulk_thumbnails", "attachment_ids": [1], "attachment_id": 2},
        {"attachment_id": 1, "sizes": ["thumbnail"], "variants": [{"name": "a", "width": 1, "height": 1}]},
        {"attachment_id": 0},
        {"attachment_id": 1, "opacity": 101},
        {"attachment_id": 1, "sizes": [[0, 0]]},
    ],
)
def test_contradictory_or_out_of_range_payloads_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ImagePayload.model_validate(payload)


IMAGE, MARK = (200, 100), (50, 20)


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ("top-left", (10, 10)),
        ("top-center", (75, 10)),
        ("top-right", (140, 10)),
        ("center-left", (10, 40)),
        ("center", (75, 40)),
        ("center-right", (140, 40)),
        ("bottom-left", (10, 70)),
        ("bottom-center", (75, 70)),
        ("bottom-right", (140, 70)),
    ],
)
def test_watermark_positions(position: str, expected: tuple[int, int]) -> None:
    assert watermark_position(IMAGE, MARK, position, 10) == expected


def test_a_mark_wider_than_the_image_stays_on_the_top_left_edges() -> None:
    assert watermark_position((30, 30), (50, 50), "bottom-right", 10) == (0, 0)


def test_the_key_template_must_hold_the_attachment_id_and_nothing_else() -> None:
    assert Settings(image_key_template="media/{attachment_id}.jpg").image_key_template == "media/{attachment_id}.jpg"
    for bad in ("media/fixed.jpg", "media/{attachment_id}/{name}", "media/{attachment_id"):
        with pytest.raises(ValidationError, match="image_key_template"):
            Settings(image_key_template=bad)
