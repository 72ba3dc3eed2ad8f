"""OnTarballCreated: S3 Object Created (EventBridge or Records) -> one delayed check per tarball."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ...config import Config
from .. import wiring
from ..events import created_objects
from ..observability import observability

logger, metrics = observability()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:  # noqa: ARG001
    return wiring.intake(Config.from_env(), logger).accept(created_objects(event))
