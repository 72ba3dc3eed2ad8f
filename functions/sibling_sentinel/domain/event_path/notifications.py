"""Turning on S3's EventBridge notifications without losing anyone else's notification configuration.

PutBucketNotificationConfiguration replaces the whole configuration, so the change is always
"what is there now, plus EventBridge", computed here from what was read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KEPT = ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations")


def eventbridge_on(current: Mapping[str, Any]) -> bool:
    return "EventBridgeConfiguration" in current


def with_eventbridge(current: Mapping[str, Any]) -> dict[str, Any]:
    """Every existing topic, queue and Lambda configuration, exactly as read, plus EventBridge."""
    merged: dict[str, Any] = {kind: list(current[kind]) for kind in KEPT if current.get(kind)}
    merged["EventBridgeConfiguration"] = {}
    return merged


def kept_summary(current: Mapping[str, Any]) -> str:
    """E.g. "1 topic, 0 queue and 2 Lambda configurations"."""
    topics, queues, functions = (len(current.get(kind) or []) for kind in KEPT)
    return f"{topics} topic, {queues} queue and {functions} Lambda configurations"
