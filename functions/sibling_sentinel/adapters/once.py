"""At most once per (check_id, attempt): Powertools Idempotency on a DynamoDB table.

A duplicated S3 event, or SQS delivering a message twice, reaches the same step with the same key.
The first run records its result; the others return that result without acting, so one upload
never starts two alert chains. If a step raises, Powertools deletes the record so SQS's retry runs
the step again; if the function dies mid-step, the record expires with the invocation's remaining time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ThrottledError
from .errors import translate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "sibling-sentinel.check"
IN_FLIGHT = "duplicate-in-flight"


def once_per_step(
    client: DynamoDBClient, table: str, keep_s: int
) -> tuple[Callable[[Callable[..., Any]], Callable[..., Any]], IdempotencyConfig]:
    """The decorator for Checker.once, and the config the handler registers its Lambda context on.

    Powertools Idempotency (and DynamoDB's model with it, ~0.15 s) is imported here, not with the
    module: only CheckSiblings needs it, and FullSweep imports this module for `DynamoCheckRecords`.
    """
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

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


FIRST_STEP = 1  # every upload the event path checks has a record for its first check
BATCH_KEYS = 100  # BatchGetItem's limit per request
BATCH_TRIES = 8


def record_id(check_id: str) -> str:
    """The id Powertools gives the first check's record: its key prefix and the MD5 of the JMESPath
    result `[check_id, attempt]` as sorted JSON (a test runs a real check and finds it by this id)."""
    digest = hashlib.md5(json.dumps([check_id, FIRST_STEP], sort_keys=True).encode(), usedforsecurity=False)
    return f"{KEY_PREFIX}#{digest.hexdigest()}"


class DynamoCheckRecords:
    """Which uploads the event path checked, read from the idempotency table 100 ids at a time."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self._table = table

    def seen(self, check_ids: Sequence[str]) -> set[str]:
        by_record = {record_id(c): c for c in check_ids}
        ids = sorted(by_record)
        found: set[str] = set()
        for start in range(0, len(ids), BATCH_KEYS):
            found |= self._batch(ids[start : start + BATCH_KEYS])
        return {by_record[r] for r in found}

    def _batch(self, ids: list[str]) -> set[str]:
        """Unprocessed keys are asked again; still unprocessed after that is an error, never "unseen"."""
        found: set[str] = set()
        keys: list[dict[str, Any]] = [{"id": {"S": i}} for i in ids]
        for _ in range(BATCH_TRIES):
            try:
                answer: Any = self._ddb.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ProjectionExpression": "id"}}
                )
            except (ClientError, BotoCoreError) as e:
                raise translate(e, f"reading the event path's records in {self._table}") from e
            found |= {item["id"]["S"] for item in answer.get("Responses", {}).get(self._table, [])}
            keys = list(answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", []))
            if not keys:
                return found
        raise ThrottledError(
            f"reading the event path's records in {self._table}: {len(keys)} keys still unprocessed "
            f"after {BATCH_TRIES} tries"
        )
