"""Builds the services from the one Config; clients are made here, lazily, once per warm container."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

from .adapters.aws import client
from .adapters.notify import DefaultBus, SnsNotifier
from .adapters.once import once_per_step
from .adapters.s3 import S3Objects
from .adapters.sqs import SqsCheckQueue
from .config import Config
from .domain.event_path import Checker, Intake
from .observability import EmfCounter


def aws_client(config: Config, service: str) -> Any:
    return client(service, config.endpoint_url, config.aws_max_attempts, config.concurrency)


def utc_now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def intake(config: Config, logger: Logger) -> Intake:
    config.require("check_queue_url")
    queue = SqsCheckQueue(aws_client(config, "sqs"), config.check_queue_url)
    return Intake(
        queue,
        config.policy(),
        config.bucket,
        config.prefix,
        config.check_delay_seconds,
        config.check_deadline_seconds,
        logger,
    )


@functools.cache
def checker(config: Config, logger: Logger, metrics: Metrics) -> tuple[Checker, IdempotencyConfig]:
    """The check judges with no grace period: the message's deadline is this path's grace."""
    config.require("check_queue_url", "alert_topic_arn", "idempotency_table")
    once, idempotency = once_per_step(
        aws_client(config, "dynamodb"),
        config.idempotency_table,
        keep_s=config.check_deadline_seconds + 24 * 3600,
    )
    service = Checker(
        store=S3Objects(aws_client(config, "s3")),
        queue=SqsCheckQueue(aws_client(config, "sqs"), config.check_queue_url),
        bus=DefaultBus(aws_client(config, "events")),
        notifier=SnsNotifier(aws_client(config, "sns"), config.alert_topic_arn),
        metrics=EmfCounter(metrics),
        policy=config.policy(grace_seconds=0),
        clock=utc_now,
        log=logger,
        once=once,
    )
    return service, idempotency
