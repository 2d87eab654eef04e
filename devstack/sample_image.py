"""The local stack's sample image: a picture drawn with Pillow (no download) at attachment id 1 of
the local bucket, so an ``image_processing`` job can run on a fresh ``make run`` at once."""

from __future__ import annotations

import io
from typing import Any

from relayq.dynamodb.counters import ATTACHMENT_IDS, Counters
from relayq.settings import Settings

SAMPLE_ATTACHMENT_ID = 1
SIZE = (1200, 800)


def sample_png() -> bytes:
    from PIL import Image, ImageDraw

    width, height = SIZE
    vertical = Image.linear_gradient("L")
    horizontal = vertical.transpose(Image.Transpose.ROTATE_90)
    channels = (horizontal.resize(SIZE), vertical.resize(SIZE), Image.new("L", SIZE, 160))
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 3, height // 4, width * 2 // 3, height * 3 // 4), fill=(250, 200, 40), outline=(0, 0, 0))
    draw.rectangle((40, 40, 240, 140), fill=(30, 30, 30))
    draw.text((60, 80), "relayq sample", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def seed_sample_image(s3: Any, bucket: str, counters: Counters) -> str:
    """Put the sample at its attachment's key unless something is there, and keep the upload ids
    above it. The key is the default ``QUEUE_IMAGE_KEY_TEMPLATE``'s (the stack sets no other)."""
    key = str(Settings.model_fields["image_key_template"].default).format(attachment_id=SAMPLE_ATTACHMENT_ID)
    counters.reserve(ATTACHMENT_IDS, SAMPLE_ATTACHMENT_ID)
    if "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1):
        s3.put_object(Bucket=bucket, Key=key, Body=sample_png(), ContentType="image/png")
    return key
