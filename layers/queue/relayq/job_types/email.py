"""``email``: send mail with Amazon SES, in the three shapes of the plugin's email job (``type``:
``single``, ``bulk``, ``newsletter``; the admin page's test form names it ``email_type``).

A single message fails the job when it cannot be sent. A bulk or a newsletter sends each message
on its own: a bad one (an invalid address, a missing field, a message SES refuses) is counted in
``failed`` and listed in ``failures`` while the others are still sent, and the job completes with
the counts (as the plugin's job does, even when every message failed). Only when nothing was sent
and every failure was SES being unavailable or throttling is the job retried: no retry sends a
message twice."""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Annotated, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    model_validator,
)

from relayq.domain.clock import now_ms
from relayq.domain.errors import InvalidInput
from relayq.domain.registry import (
    JobContext,
    JobType,
    PermanentJobError,
    RetryableJobError,
    describe_validation_error,
)
from relayq.job_types.aws_errors import job_error

MAX_MESSAGES = 200
# SES refuses raw messages over 10 MB; attachments grow by a third in base64.
MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024
# A bulk stops sending this long before the job's deadline; the rest are reported as not sent, so
# the attempt ends with its counts instead of timing out and being retried (which would send twice).
DEADLINE_MARGIN_MS = 5000
# Headers wp_mail turns into the message's own fields; every other one is sent as is.
ADDRESS_HEADERS = {"cc": "cc", "bcc": "bcc", "reply-to": "reply_to"}
FIELD_HEADERS = frozenset({"to", "subject", "mime-version", "content-transfer-encoding"})
HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")


def _split_addresses(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _address_list(value: object) -> object:
    """wp_mail's forms: one address, a comma-separated list, or a list."""
    return _split_addresses(value) if isinstance(value, str) else value


def _header_list(value: object) -> object:
    """wp_mail's forms: ``"Name: value"`` lines (a list, or one text of lines), or a dict."""
    if isinstance(value, str):
        return [line for line in value.splitlines() if line.strip()]
    if isinstance(value, dict):
        return [f"{name}: {text}" for name, text in value.items()]
    return value


def _attachment(value: object) -> object:
    return {"key": value} if isinstance(value, str) else value


class Attachment(BaseModel):
    """An object of the deployment's bucket (``QUEUE_IMAGES_BUCKET``): its key, or the key with
    the file name and type the recipient sees (default: the key's last part, guessed type)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=1024)
    filename: str | None = Field(default=None, min_length=1, max_length=255)
    content_type: str | None = Field(default=None, pattern=r"^[\w.+-]+/[\w.+-]+$")


RawAddresses = Annotated[list[str], BeforeValidator(_address_list)]
Addresses = Annotated[list[EmailStr], BeforeValidator(_address_list)]
Headers = Annotated[list[str], BeforeValidator(_header_list)]
Attachments = Annotated[list[Annotated[Attachment, BeforeValidator(_attachment)]], Field(max_length=10)]


class MessageInput(BaseModel):
    """One message as a client writes it. Addresses are checked when the message is sent, so a
    bad address in one entry of a bulk fails that entry only."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    to: RawAddresses = Field(default_factory=list, max_length=50)
    subject: str | None = Field(default=None, max_length=998)
    message: str | None = Field(default=None, max_length=200_000)
    html: str | None = Field(default=None, max_length=200_000)
    sender: str | None = Field(default=None, alias="from")
    cc: RawAddresses = Field(default_factory=list, max_length=50)
    bcc: RawAddresses = Field(default_factory=list, max_length=50)
    reply_to: RawAddresses = Field(default_factory=list, max_length=10)
    headers: Headers = Field(default_factory=list, max_length=50)
    attachments: Attachments = Field(default_factory=list)


def fields_of(entry: MessageInput, *, without_to: bool = False) -> dict[str, Any]:
    """The message fields a client gave (empty ones left out, so they never hide a default)."""
    dumped = entry.model_dump(include=set(MessageInput.model_fields), by_alias=True)
    return {k: v for k, v in dumped.items() if v not in (None, [], "") and not (without_to and k == "to")}


def has_sender(entry: MessageInput) -> bool:
    return bool(entry.sender) or any(line.partition(":")[0].strip().lower() == "from" for line in entry.headers)


class Subscriber(BaseModel):
    """A newsletter recipient, also in the fields ``wp user list --format=json`` prints."""

    model_config = ConfigDict(extra="ignore")

    email: str = Field(validation_alias=AliasChoices("email", "user_email"), max_length=320)
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "display_name"), max_length=250)
    id: int | None = Field(default=None, validation_alias=AliasChoices("id", "ID"))

    @model_validator(mode="before")
    @classmethod
    def _address_alone(cls, value: object) -> object:
        return {"email": value} if isinstance(value, str) else value


class EmailPayload(MessageInput):
    """``type`` picks the shape; the top-level message fields are also the defaults of every
    message of a bulk (an entry's own fields win)."""

    type: Literal["single", "bulk", "newsletter"] = Field(
        default="single", validation_alias=AliasChoices("type", "email_type")
    )
    emails: list[MessageInput] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)
    subscribers: list[Subscriber] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)
    subscriber_ids: list[int] | None = Field(default=None, min_length=1, max_length=MAX_MESSAGES)

    @model_validator(mode="after")
    def _fits_its_type(self) -> EmailPayload:
        if self.type != "bulk" and self.emails is not None:
            raise ValueError("'emails' belongs to type 'bulk'")
        if self.type != "newsletter" and (self.subscribers is not None or self.subscriber_ids is not None):
            raise ValueError("'subscribers' and 'subscriber_ids' belong to type 'newsletter'")
        if self.type == "bulk" and self.emails is None and not self.to:
            raise ValueError("a bulk needs 'emails' (or 'to': each address gets the message on its own)")
        if self.type == "newsletter":
            if not self.subject or not (self.message or self.html):
                raise ValueError("a newsletter needs a 'subject' and a 'message' (or 'html')")
            if sum(bool(given) for given in (self.to, self.subscribers, self.subscriber_ids)) > 1:
                raise ValueError("give the newsletter's recipients once: 'subscribers', 'subscriber_ids' or 'to'")
        return self


class Message(BaseModel):
    """One message ready to send: every address checked, wp_mail's headers applied."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    to: Addresses = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1, max_length=998)
    message: str | None = None
    html: str | None = None
    sender: EmailStr | None = Field(default=None, alias="from")
    cc: Addresses = Field(default_factory=list, max_length=50)
    bcc: Addresses = Field(default_factory=list, max_length=50)
    reply_to: Addresses = Field(default_factory=list, max_length=10)
    headers: list[tuple[str, str]] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_body(self) -> Message:
        if not self.message and not self.html:
            raise ValueError("give a text 'message', an 'html' body, or both")
        return self

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


def build_message(fields: dict[str, Any]) -> Message:
    """A checked message from a client's fields (``MessageInput`` names); raises
    ``ValidationError`` or ``ValueError`` saying which field is wrong."""
    data = {key: value for key, value in fields.items() if key != "headers"}
    custom: list[tuple[str, str]] = []
    for line in fields.get("headers") or []:
        name, colon, value = line.partition(":")
        name, value = name.strip(), value.strip()
        lowered = name.lower()
        if not colon or not HEADER_NAME.match(name):
            raise ValueError(f"headers: {line!r} is not a 'Name: value' header")
        if "\r" in value or "\n" in value:
            raise ValueError(f"headers: {name} has a line break in its value")
        if lowered in FIELD_HEADERS:
            raise ValueError(f"headers: {name} is set by the message itself (use the payload's fields)")
        if lowered == "from":
            data.setdefault("from", value)
        elif lowered in ADDRESS_HEADERS:
            target = ADDRESS_HEADERS[lowered]
            data[target] = [*data.get(target, []), *_split_addresses(value)]
        elif lowered == "content-type":
            if value.lower().startswith("text/html") and data.get("message") and not data.get("html"):
                data["html"] = data.pop("message")
        else:
            custom.append((name, value))
    return Message.model_validate({**data, "headers": custom})


def explain(error: ValidationError | ValueError) -> str:
    return describe_validation_error(error) if isinstance(error, ValidationError) else str(error)


def personalise(text: str | None, subscriber: Subscriber) -> str | None:
    """The plugin's placeholders: ``{name}`` (the display name, else the address) and ``{email}``."""
    if text is None:
        return None
    return text.replace("{name}", subscriber.name or subscriber.email).replace("{email}", subscriber.email)


# A message's fields, and its recipient as the failures list names it.
Outgoing = tuple[dict[str, Any], object]


@dataclass
class Batch:
    """The counts of a bulk or a newsletter, in the plugin's result fields."""

    total: int
    sent: int = 0
    message_ids: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    retryable: int = 0

    def fail(self, to: object, reason: str, *, retryable: bool = False) -> None:
        self.failures.append({"to": ", ".join(to) if isinstance(to, list) else to, "reason": reason})
        self.retryable += retryable

    def result(self, email_type: str, **extra: Any) -> dict[str, Any]:
        return {
            "email_type": email_type,
            "total": self.total,
            "sent": self.sent,
            "failed": len(self.failures),
            "failures": self.failures,
            "message_ids": self.message_ids,
            **extra,
        }


class EmailJob(JobType):
    name = "email"
    payload_model = EmailPayload
    queue = "email"
    priority = 20
    timeout = 120

    def validate(self, payload: dict[str, Any]) -> dict[str, Any]:
        checked = super().validate(payload)
        mail = EmailPayload.model_validate(checked)
        problem = None
        if mail.type == "single":
            try:
                build_message(fields_of(mail))
            except (ValidationError, ValueError) as error:
                problem = explain(error)
        elif mail.type == "newsletter" and not (mail.to or mail.subscribers or self.settings.email_subscribers_key):
            problem = "subscribers: required ('subscriber_ids' and all subscribers need QUEUE_EMAIL_SUBSCRIBERS_KEY)"
        entries = [mail, *(mail.emails or [])]
        senders = has_sender(mail) or (mail.emails is not None and all(has_sender(e) for e in mail.emails))
        if problem is None and not self.settings.email_from and not senders:
            problem = "from: required (QUEUE_EMAIL_FROM is not set)"
        if problem is None and any(e.attachments for e in entries) and not self.settings.images_bucket:
            problem = "attachments: need the deployment's bucket (QUEUE_IMAGES_BUCKET is not set)"
        if problem:
            raise InvalidInput(f"Invalid payload for job type 'email': {problem}")
        return checked

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        mail = EmailPayload.model_validate(payload)
        files: dict[str, bytes] = {}
        if mail.type == "single":
            try:
                message = build_message(fields_of(mail))
            except (ValidationError, ValueError) as error:
                raise PermanentJobError(explain(error)) from error
            message_id, sender = self.send(message, files)
            return {
                "email_type": "single",
                "sent": True,
                "to": message.to,
                "message_id": message_id,
                "from": sender,
                "recipients": len(message.recipients),
            }
        if mail.type == "bulk":
            defaults = fields_of(mail, without_to=True)
            entries = [{**defaults, **fields_of(entry)} for entry in mail.emails or []]
            if mail.emails is None:
                entries = [{**defaults, "to": [address]} for address in mail.to]
            batch = self.send_each(((entry, entry.get("to")) for entry in entries), len(entries), context, files)
            return batch.result("bulk")
        subscribers, missing = self.subscribers(mail)
        if not subscribers and not missing:
            raise PermanentJobError("No subscribers found")
        fields = fields_of(mail, without_to=True)
        messages = (
            (
                {**fields, "to": [s.email], "message": personalise(mail.message, s), "html": personalise(mail.html, s)},
                s.email,
            )
            for s in subscribers
        )
        batch = self.send_each(messages, len(subscribers) + len(missing), context, files)
        for subscriber_id in missing:
            batch.fail(None, f"No subscriber with id {subscriber_id}")
        return batch.result("newsletter", subject=mail.subject)

    def send_each(
        self, messages: Iterable[Outgoing], total: int, context: JobContext, files: dict[str, bytes]
    ) -> Batch:
        """Send each message on its own; a bad one is counted and the others still go."""
        batch = Batch(total)
        for fields, to in messages:
            if now_ms() > context.deadline_ms - DEADLINE_MARGIN_MS:
                batch.fail(to, "not sent: the job's timeout was reached")
                continue
            try:
                message_id, _ = self.send(build_message(fields), files)
            except (ValidationError, ValueError) as error:
                batch.fail(to, explain(error))
            except RetryableJobError as error:
                batch.fail(to, str(error), retryable=True)
            except PermanentJobError as error:
                batch.fail(to, str(error))
            else:
                batch.sent += 1
                batch.message_ids.append(message_id)
        if batch.sent == 0 and batch.failures and batch.retryable == len(batch.failures):
            # Nothing went out and SES itself was the trouble: a retry cannot send anything twice.
            raise RetryableJobError(f"no message was sent: {batch.failures[0]['reason']}")
        return batch

    def subscribers(self, mail: EmailPayload) -> tuple[list[Subscriber], list[int]]:
        """The newsletter's recipients, and the asked-for ids the subscriber list lacks."""
        if mail.subscribers:
            return mail.subscribers, []
        if mail.to:
            return [Subscriber(email=address) for address in mail.to], []
        listed = self.subscriber_list()
        if not mail.subscriber_ids:
            return listed, []
        by_id = {s.id: s for s in listed if s.id is not None}
        return [by_id[i] for i in mail.subscriber_ids if i in by_id], [i for i in mail.subscriber_ids if i not in by_id]

    def subscriber_list(self) -> list[Subscriber]:
        """The JSON array at ``QUEUE_EMAIL_SUBSCRIBERS_KEY`` in the deployment's bucket."""
        key, bucket = self.settings.email_subscribers_key, self.settings.images_bucket
        if not key or not bucket:
            raise PermanentJobError("No subscriber list: set QUEUE_EMAIL_SUBSCRIBERS_KEY and QUEUE_IMAGES_BUCKET")
        where = f"s3://{bucket}/{key}"
        try:
            text = self.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            rows = json.loads(text)
            if not isinstance(rows, list):
                raise ValueError("not a JSON array")
            return [Subscriber.model_validate(row) for row in rows]
        except (ClientError, BotoCoreError) as error:
            raise job_error(error, f"Reading the subscriber list {where} failed") from error
        except (ValueError, ValidationError) as error:
            raise PermanentJobError(f"The subscriber list {where} is not valid: {error}") from error

    def send(self, message: Message, files: dict[str, bytes]) -> tuple[str, str]:
        """Send through SES: its simple form when it can, a raw MIME message for attachments and
        extra headers. Returns the message id and the sender."""
        sender = message.sender or self.settings.email_from
        if not sender:
            raise PermanentJobError("No sender: set 'from' or QUEUE_EMAIL_FROM")
        ses = self.aws.client("ses")
        try:
            if message.attachments or message.headers:
                raw = self.mime(message, sender, files)
                answer = ses.send_raw_email(Source=sender, Destinations=message.recipients, RawMessage={"Data": raw})
            else:
                answer = ses.send_email(**simple_request(message, sender))
        except (ClientError, BotoCoreError) as error:
            raise job_error(error, "SES send_email failed") from error
        return str(answer["MessageId"]), sender

    def mime(self, message: Message, sender: str, files: dict[str, bytes]) -> bytes:
        mime = EmailMessage()
        mime["Subject"] = message.subject
        mime["From"] = sender
        mime["To"] = ", ".join(message.to)
        if message.cc:
            mime["Cc"] = ", ".join(message.cc)
        if message.reply_to:
            mime["Reply-To"] = ", ".join(message.reply_to)
        for name, value in message.headers:
            mime[name] = value
        if message.message:
            mime.set_content(message.message)
            if message.html:
                mime.add_alternative(message.html, subtype="html")
        else:
            mime.set_content(message.html or "", subtype="html")
        size = 0
        for attachment in message.attachments:
            data = self.attachment(attachment.key, files)
            size += len(data)
            if size > MAX_ATTACHMENT_BYTES:
                raise PermanentJobError(f"The attachments are larger than {MAX_ATTACHMENT_BYTES} bytes")
            filename = attachment.filename or attachment.key.rsplit("/", 1)[-1]
            kind = attachment.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
            maintype, subtype = kind.split("/", 1)
            mime.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return mime.as_bytes()

    def attachment(self, key: str, files: dict[str, bytes]) -> bytes:
        """An attachment's bytes, read once per job however many messages carry it."""
        if key not in files:
            bucket = self.settings.images_bucket
            where = f"s3://{bucket}/{key}"
            if not bucket:
                raise PermanentJobError("Attachments need QUEUE_IMAGES_BUCKET")
            try:
                obj = self.aws.client("s3").get_object(Bucket=bucket, Key=key)
                if obj["ContentLength"] > MAX_ATTACHMENT_BYTES:
                    raise PermanentJobError(f"Attachment {where} is larger than {MAX_ATTACHMENT_BYTES} bytes")
                files[key] = obj["Body"].read()
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                    raise PermanentJobError(f"Attachment not found: {where}") from error
                raise job_error(error, f"Reading attachment {where} failed") from error
            except BotoCoreError as error:
                raise job_error(error, f"Reading attachment {where} failed") from error
        return files[key]


def simple_request(message: Message, sender: str) -> dict[str, Any]:
    """The arguments of SES ``SendEmail`` for a message without attachments or extra headers."""
    body: dict[str, Any] = {}
    if message.message:
        body["Text"] = {"Data": message.message, "Charset": "UTF-8"}
    if message.html:
        body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
    destination: dict[str, Any] = {"ToAddresses": message.to}
    if message.cc:
        destination["CcAddresses"] = message.cc
    if message.bcc:
        destination["BccAddresses"] = message.bcc
    request: dict[str, Any] = {
        "Source": sender,
        "Destination": destination,
        "Message": {"Subject": {"Data": message.subject, "Charset": "UTF-8"}, "Body": body},
    }
    if message.reply_to:
        request["ReplyToAddresses"] = message.reply_to
    return request
