"""Client construction, called lazily from the edge; never at import."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_MAX_CONNECTIONS = 10  # botocore's own default


def client(
    service: str,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> Any:
    """A boto3 client whose standard-mode retries absorb throttling (SlowDown, 503) with backoff.

    Whatever is still failing after `max_attempts` (total, AWS_MAX_ATTEMPTS) becomes the product's error.
    Region and credentials come from the usual AWS chain. `max_connections` must cover the threads
    that share the client, or they queue for a connection (urllib3 warns and discards the extras).
    """
    config = BotoConfig(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max(max_connections, DEFAULT_MAX_CONNECTIONS),
    )
    return boto3.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]
