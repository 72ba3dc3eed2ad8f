"""VerifySample: the nightly sampled verification -> verify tonight's share, repair, report, metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ...config import Config
from .. import verify_wiring
from ..observability import observability
from ..verify_config import SamplingConfig

logger, metrics = observability()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=True)
def handler(_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = verify_wiring.sampled_verification(
        Config.from_env(), SamplingConfig.from_env(), logger, metrics
    )
    return service.run(lambda: context.get_remaining_time_in_millis() / 1000)
