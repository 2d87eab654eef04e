"""``POST /uploads`` through the authorizer and the API handler, the file posted with ``requests``
to the presigned form on moto's server (what a browser does), then a job on its attachment id."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
import requests
from PIL import Image

from devstack.moto_server import MotoServer
from relayq.container import container
from relayq.container import reset as reset_container
from tests.support.api_flow import Gateway

BUCKET = "upload-tests"


@pytest.fixture
def images(monkeypatch: pytest.MonkeyPatch, lambda_env: dict[str, str], moto_server: MotoServer) -> Any:
    monkeypatch.setenv("QUEUE_IMAGES_BUCKET", BUCKET)
    monkeypatch.setenv("QUEUE_UPLOAD_MAX_BYTES", "200000")
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    reset_container()
    return s3


@pytest.fixture
def token(images: Any, gw: Gateway) -> str:
    return container().tokens.create("uploader", "full").token


def png(size: tuple[int, int] = (640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(gw: Gateway, token: str, filename: str = "cat.png", content_type: str = "image/png") -> Any:
    answer = gw.request("POST", "/uploads", token=token, json_body={"filename": filename, "content_type": content_type})
    assert answer.status == 201, answer.body
    return answer.body


def post_file(form: dict[str, Any], body: bytes, content_type: str = "image/png") -> requests.Response:
    return requests.post(form["url"], data=form["fields"], files={"file": ("cat.png", body, content_type)}, timeout=10)


def test_an_uploaded_image_is_processed_by_its_attachment_id(gw: Gateway, token: str, images: Any) -> None:
    answer = upload(gw, token)
    attachment_id = answer["attachment_id"]
    assert isinstance(attachment_id, int)
    assert answer["success"] is True and answer["expires_in"] == 900
    assert (answer["bucket"], answer["key"]) == (BUCKET, f"attachments/{attachment_id}")
    assert answer["upload"]["fields"]["Content-Type"] == "image/png"
    assert answer["upload"]["fields"]["key"] == answer["key"]

    posted = post_file(answer["upload"], png())
    assert posted.status_code in (200, 201, 204), posted.text
    head = images.head_object(Bucket=BUCKET, Key=answer["key"])
    assert head["ContentType"] == "image/png" and head["Metadata"] == {"filename": "cat.png"}

    created = gw.request(
        "POST",
        "/jobs",
        token=token,
        json_body={"type": "image_processing", "payload": {"operation": "thumbnail", "attachment_id": attachment_id}},
    )
    assert created.status in (200, 201), created.body
    job = container().jobs.get(created.body["job_id"])
    container().jobs.process([job.queue], 1)
    done = gw.request("GET", f"/jobs/{job.id}", token=token).body
    assert done["status"] == "completed", done
    assert done["result"]["attachment_id"] == attachment_id
    thumbnail = done["result"]["generated_sizes"]["thumbnail"]
    assert thumbnail["key"] == f"attachments/{attachment_id}-thumbnail.png"
    assert Image.open(io.BytesIO(images.get_object(Bucket=BUCKET, Key=thumbnail["key"])["Body"].read())).size == (
        150,
        150,
    )


def test_each_upload_gets_a_new_id(gw: Gateway, token: str) -> None:
    ids = [upload(gw, token, filename=f"{n}.png")["attachment_id"] for n in range(3)]
    assert len(set(ids)) == 3 and ids == sorted(ids)


def test_the_id_counter_stays_above_a_reserved_id(gw: Gateway, token: str) -> None:
    container().counters.reserve("attachment_id", 41)  # the local stack's sample image does this with 1
    assert upload(gw, token)["attachment_id"] == 42
    container().counters.reserve("attachment_id", 5)  # below: no effect
    assert upload(gw, token)["attachment_id"] == 43


def test_the_signed_policy_holds_the_type_and_size_limits(gw: Gateway, token: str) -> None:
    """S3 refuses a file that breaks the policy (moto's server does not check it: the policy is read here)."""
    answer = upload(gw, token, filename="été 1.png")
    policy = json.loads(base64.b64decode(answer["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, 200000] in conditions
    assert {"key": answer["key"]} in conditions and {"bucket": BUCKET} in conditions
    assert {"x-amz-meta-filename": "%C3%A9t%C3%A9%201.png"} in conditions
    # SigV4, the signature every S3 region accepts.
    assert answer["upload"]["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


def test_only_image_types_get_an_upload(gw: Gateway, token: str) -> None:
    answer = gw.request("POST", "/uploads", token=token, json_body={"filename": "x.html", "content_type": "text/html"})
    assert answer.status == 400 and answer.body["code"] == "rest_invalid_param"
    assert "content_type ('text/html' is not accepted; allowed: image/png, image/jpeg" in answer.body["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"filename": "a.png"},
        {"filename": "", "content_type": "image/png"},
        {"filename": "a.png", "content_type": "image/png", "acl": "public-read"},
    ],
)
def test_bad_upload_requests_are_refused(gw: Gateway, token: str, body: dict[str, Any]) -> None:
    answer = gw.request("POST", "/uploads", token=token, json_body=body)
    assert answer.status == 400 and answer.body["code"] == "rest_invalid_param", answer.body


def test_a_form_encoded_request_is_accepted(gw: Gateway, token: str) -> None:
    answer = gw.request(
        "POST",
        "/uploads",
        token=token,
        form={"filename": "dog.jpg", "content_type": "image/jpeg"},
    )
    assert answer.status == 201 and answer.body["upload"]["fields"]["Content-Type"] == "image/jpeg"


def test_without_an_images_bucket_uploads_say_so(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, lambda_env: dict[str, str]
) -> None:
    monkeypatch.delenv("QUEUE_IMAGES_BUCKET", raising=False)
    reset_container()
    token = container().tokens.create("uploader", "full").token
    answer = gw.request("POST", "/uploads", token=token, json_body={"filename": "a.png", "content_type": "image/png"})
    assert answer.status == 503 and answer.body["code"] == "uploads_not_configured"


def test_a_worker_token_may_not_upload(gw: Gateway, images: Any) -> None:
    """Uploads are the full scope's (its `*`); the worker scope lists only the trigger and cron routes."""
    worker = container().tokens.create("cron", "worker").token
    answer = gw.request("POST", "/uploads", token=worker, json_body={"filename": "a.png", "content_type": "image/png"})
    assert answer.status == 403, answer.body
