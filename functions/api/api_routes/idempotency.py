"""``POST /jobs`` with an ``Idempotency-Key``: Powertools idempotency over the idempotency table.
The same key (per token) returns the first job; a key reused for another job is refused."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from aws_lambda_powertools.utilities.typing import LambdaContext

from relayq.container import Container, container
from relayq.domain.errors import IdempotencyKeyReused, RequestInProgress, StoreUnavailable
from relayq.domain.models import NewJob

KEY_PREFIX = "relayq.create_job"


class IdempotentCreate:
    """Built once per container, for its idempotency table and DynamoDB client (Powertools'
    persistence layer registers itself on the client, so it is not made per request)."""

    def __init__(self, table: str, dynamodb: Any) -> None:
        # Imported here: only keyed requests need Powertools' idempotency (cold start).
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        self.config = IdempotencyConfig(
            event_key_jmespath="key", payload_validation_jmespath="job", expires_after_seconds=86_400
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=table, key_attr="id", expiry_attr="expiration", boto3_client=dynamodb
        )
        self._create = idempotent_function(
            _create_job,
            data_keyword_argument="request",
            persistence_store=persistence,
            config=self.config,
            # A fixed prefix: by default the record key names the module and function, so moving
            # the code would make a retried request (records live 24 h) create a second job.
            key_prefix=KEY_PREFIX,
        )

    def __call__(self, scoped_key: str, request: NewJob, lambda_context: LambdaContext) -> str:
        """The id of the job created for ``scoped_key``: now, or by the first request with it."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        self.config.register_lambda_context(lambda_context)  # an in-progress record expires with the invocation
        try:
            result = self._create(request={"key": scoped_key, "job": request.model_dump(mode="json")})
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except IdempotencyAlreadyInProgressError:
            raise RequestInProgress() from None
        except IdempotencyPersistenceLayerError as error:
            raise StoreUnavailable() from error
        return str(result["job_id"])


def _create_job(request: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": container().jobs.create(NewJob.model_validate(request["job"])).id}


# A new container (a new execution environment; a reset in the tests) gets its own creator; a
# forgotten container takes its creator with it.
_CREATORS: WeakKeyDictionary[Container, IdempotentCreate] = WeakKeyDictionary()


def idempotent_create() -> IdempotentCreate:
    """This container's idempotent create, built on its first keyed request."""
    current = container()
    creator = _CREATORS.get(current)
    if creator is None:
        creator = IdempotentCreate(current.settings.idempotency_table, current.aws.client("dynamodb"))
        _CREATORS[current] = creator
    return creator
