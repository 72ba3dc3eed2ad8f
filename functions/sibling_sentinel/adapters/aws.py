"""Client construction, called lazily from the edge; never at import."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

# Standard mode retries throttling (SlowDown, 503) with backoff; what is left after it is an error.
RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=30)


def client(service: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client with the product's retry policy. Region and credentials come from the AWS chain."""
    return boto3.client(service, endpoint_url=endpoint_url, config=RETRIES)  # type: ignore[call-overload]
