"""Client construction, called lazily from the edge; never at import."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

DEFAULT_MAX_ATTEMPTS = 8


def client(service: str, endpoint_url: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Any:
    """A boto3 client whose standard-mode retries absorb throttling (SlowDown, 503) with backoff.

    Whatever is still failing after `max_attempts` (total, AWS_MAX_ATTEMPTS) becomes the product's error.
    Region and credentials come from the usual AWS chain.
    """
    config = BotoConfig(
        retries={"mode": "standard", "total_max_attempts": max_attempts}, connect_timeout=5, read_timeout=30
    )
    return boto3.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]
