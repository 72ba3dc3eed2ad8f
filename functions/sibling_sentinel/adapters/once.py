"""At most once per (check_id, attempt): Powertools Idempotency on a DynamoDB table.

A duplicated S3 event, or SQS delivering a message twice, reaches the same step with the same key.
The first run records its result; the others return that result without acting, so one upload
never starts two alert chains. If a step raises, Powertools deletes the record so SQS's retry runs
the step again; if the function dies mid-step, the record expires with the invocation's remaining time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "sibling-sentinel.check"
IN_FLIGHT = "duplicate-in-flight"


def once_per_step(
    client: DynamoDBClient, table: str, keep_s: int
) -> tuple[Callable[[Callable[..., Any]], Callable[..., Any]], IdempotencyConfig]:
    """The decorator for Checker.once, and the config the handler registers its Lambda context on."""
    config = IdempotencyConfig(
        event_key_jmespath="[check_id, attempt]",
        expires_after_seconds=keep_s,
        raise_on_no_idempotency_key=True,
    )
    store = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)

    def once(fn: Callable[..., Any]) -> Callable[..., Any]:
        guarded = idempotent_function(
            data_keyword_argument="message", persistence_store=store, config=config, key_prefix=KEY_PREFIX
        )(fn)

        def step(**kwargs: Any) -> Any:
            try:
                return guarded(**kwargs)
            except IdempotencyAlreadyInProgressError:
                # The copy in flight holds its own SQS message and is retried if it fails, so this
                # duplicate is done; failing it would only walk it toward the DLQ.
                return IN_FLIGHT

        return step

    return once, config
