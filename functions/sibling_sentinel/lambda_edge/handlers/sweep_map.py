"""The steps of the sweep on Step Functions (infra/sweep_map.asl.json): plan, sweep a batch, merge."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ...config import Config
from ...domain.sweep.full_sweep import SweepRequest
from .. import wiring
from ..observability import observability
from ..startup import settle_after_startup

logger, metrics = observability()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=True)
def plan(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    """{"input": the execution's input (FullSweep's payload), "execution": its name, "max_concurrency"}.

    The Map's MaxConcurrency comes back through the plan: a substitution can only be a string.
    """
    config = Config.from_env()
    request = SweepRequest.from_event(event.get("input"), config.prefix, config.threshold)
    planned = wiring.sweep_map(config, logger, metrics).plan(request, str(event.get("execution", "")))
    return {**planned, "max_concurrency": max(1, int(event.get("max_concurrency", 1)))}


@metrics.log_metrics
@logger.inject_lambda_context
def sweep_ranges(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    """One Map item: {"run", "index", "shards"}."""
    service = wiring.sweep_map(Config.from_env(), logger, metrics)
    settle_after_startup()  # once per container, its clients built
    return service.sweep_item(event)


@metrics.log_metrics
@logger.inject_lambda_context(log_event=True)
def merge(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The plan's state after the Map: merge and publish; with "error" (the catch), alert instead."""
    service = wiring.sweep_map(Config.from_env(), logger, metrics)
    if "error" in event:
        return service.failed(event)
    return service.merge(event, lambda: context.get_remaining_time_in_millis() / 1000)
