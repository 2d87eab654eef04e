"""``email``: send a message with Amazon SES (text and/or HTML, cc, bcc, reply-to)."""

from __future__ import annotations

from typing import Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, model_validator

from relayq.domain.errors import InvalidInput
from relayq.domain.registry import JobContext, JobType, PermanentJobError
from relayq.job_types.aws_errors import job_error


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Addresses = Annotated[list[EmailStr], BeforeValidator(_as_list)]


class EmailPayload(BaseModel):
    """``to``/``cc``/``bcc``/``reply_to`` take one address or a list; ``from`` defaults to the
    ``QUEUE_EMAIL_FROM`` setting."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    to: Addresses = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1, max_length=998)
    message: str | None = Field(default=None, max_length=200_000)
    html: str | None = Field(default=None, max_length=200_000)
    sender: EmailStr | None = Field(default=None, alias="from")
    cc: Addresses = Field(default_factory=list, max_length=50)
    bcc: Addresses = Field(default_factory=list, max_length=50)
    reply_to: Addresses = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _has_body(self) -> EmailPayload:
        if not self.message and not self.html:
            raise ValueError("give a text 'message', an 'html' body, or both")
        return self


class EmailJob(JobType):
    name = "email"
    payload_model = EmailPayload
    timeout = 60

    def validate(self, payload: dict[str, Any]) -> dict[str, Any]:
        checked = super().validate(payload)
        if "from" not in checked and not self.settings.email_from:
            raise InvalidInput("Invalid payload for job type 'email': from: required (QUEUE_EMAIL_FROM is not set)")
        return checked

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        mail = EmailPayload.model_validate(payload)
        sender = mail.sender or self.settings.email_from
        if not sender:
            raise PermanentJobError("No sender: set 'from' or QUEUE_EMAIL_FROM")
        body: dict[str, Any] = {}
        if mail.message:
            body["Text"] = {"Data": mail.message, "Charset": "UTF-8"}
        if mail.html:
            body["Html"] = {"Data": mail.html, "Charset": "UTF-8"}
        destination: dict[str, Any] = {"ToAddresses": mail.to}
        if mail.cc:
            destination["CcAddresses"] = mail.cc
        if mail.bcc:
            destination["BccAddresses"] = mail.bcc
        request: dict[str, Any] = {
            "Source": sender,
            "Destination": destination,
            "Message": {"Subject": {"Data": mail.subject, "Charset": "UTF-8"}, "Body": body},
        }
        if mail.reply_to:
            request["ReplyToAddresses"] = mail.reply_to
        try:
            answer = self.aws.client("ses").send_email(**request)
        except (ClientError, BotoCoreError) as error:
            raise job_error(error, "SES send_email failed") from error
        return {"message_id": answer["MessageId"], "from": sender, "recipients": len(mail.to + mail.cc + mail.bcc)}
