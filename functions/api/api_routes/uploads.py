"""Presigned uploads of images for ``image_processing`` jobs (the dashboard's upload form)."""

from __future__ import annotations

from typing import Any

from api_input import CreateUploadRequest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api_routes.request import request_body
from relayq.container import container
from relayq.http.responses import json_response
from relayq.http.validation import validate

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.post(
    "/uploads",
    summary="A new attachment id and an S3 presigned POST to upload its image to",
    description="Post the file as a multipart form: the `upload.fields`, then `file`, to `upload.url` "
    'before `expires_in` seconds pass. Then `{"type": "image_processing", "payload": '
    '{"attachment_id": <id>}}` processes it.',
    tags=["uploads"],
)
def create_upload() -> Response[Any]:
    request = validate(CreateUploadRequest, request_body(router.current_event))
    upload = container().uploads.create(request.filename, request.content_type)
    body = {
        "success": True,
        "attachment_id": upload.attachment_id,
        "key": upload.key,
        "bucket": upload.bucket,
        "upload": {"url": upload.url, "fields": upload.fields},
        "expires_in": upload.expires_in,
    }
    return json_response(201, body)
