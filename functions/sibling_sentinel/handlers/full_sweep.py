"""FullSweep: the nightly schedule or a manual invoke -> sweep, report to S3, metrics, event, alert."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import wiring
from ..config import Config
from ..domain.full_sweep import SweepRequest
from ..observability import observability

logger, metrics = observability()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = Config.from_env()
    request = SweepRequest.from_event(event, config.prefix, config.threshold)
    service = wiring.full_sweep(config, logger, metrics)
    if request.inventory:
        service = wiring.from_inventory(service, config, request.inventory)
    return service.run(request, context.aws_request_id, lambda: context.get_remaining_time_in_millis() / 1000)
