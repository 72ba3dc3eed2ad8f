"""CheckSiblings: SQS batch of check messages -> pass, reschedule, or alert; partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ...config import Config
from .. import wiring
from ..observability import observability

logger, metrics = observability()
processor = BatchProcessor(event_type=EventType.SQS)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    checker, idempotency = wiring.checker(Config.from_env(), logger, metrics)
    idempotency.register_lambda_context(context)

    def check(record: SQSRecord) -> str:
        return checker.handle_body(record.body)

    return process_partial_response(event=event, record_handler=check, processor=processor, context=context)
