"""How an AWS error bears on a job: a client error no retry can fix fails the job for good;
throttling and service-side errors are worth another attempt."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from relayq.domain.registry import PermanentJobError, RetryableJobError

THROTTLING = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown", "RequestTimeout"})


def job_error(error: ClientError | BotoCoreError, what: str) -> PermanentJobError | RetryableJobError:
    if isinstance(error, BotoCoreError):
        return RetryableJobError(f"{what}: {error}")
    code = error.response.get("Error", {}).get("Code", "Unknown")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
    message = f"{what}: {code}: {error.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    if code in THROTTLING or status >= 500:
        return RetryableJobError(message)
    return PermanentJobError(message)
