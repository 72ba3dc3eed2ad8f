"""FullSweep: the nightly schedule, a manual invoke, or its own continuation -> sweep and report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ...adapters.stack_response import PresignedResponder
from ...config import Config
from ...domain.sweep.first_sweep import is_stack_event, loggable, on_stack_event
from ...domain.sweep.full_sweep import SweepRequest
from .. import wiring
from ..observability import observability
from ..startup import settle_after_startup

logger, metrics = observability()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info(loggable(event))  # what log_event=True logged, less the presigned URL
    config = Config.from_env()
    if is_stack_event(event):  # the stack's first sweep, run as it is created (domain/sweep/first_sweep.py)
        nightly = SweepRequest(config.prefix, config.threshold, scheduled=True)
        return on_stack_event(
            event, lambda: _sweep(config, nightly, context), metrics.flush_metrics, PresignedResponder()
        )
    return _sweep(config, SweepRequest.from_event(event, config.prefix, config.threshold), context)


def _sweep(config: Config, request: SweepRequest, context: LambdaContext) -> dict[str, Any]:
    service = wiring.full_sweep(config, logger, metrics)
    settle_after_startup()  # once per container, its clients built
    return service.run(
        request,
        context.aws_request_id,
        lambda: context.get_remaining_time_in_millis() / 1000,
        function=context.invoked_function_arn,  # a sweep short of time carries on in this same function
    )
