"""Builds the services from the one Config; clients are made here, lazily, once per warm container."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from ..adapters.aws import client
from ..adapters.notify import DefaultBus, SnsNotifier
from ..adapters.once import DynamoCheckRecords, once_per_step
from ..adapters.pool import ThreadPool
from ..adapters.s3 import S3Lister, S3Objects
from ..adapters.s3_content import S3Content
from ..adapters.sqs import SqsCheckQueue
from ..config import Config, parse_s3_url
from ..domain.event_path.event_path import Checker, Intake
from ..domain.manifests.inspection import ManifestInspector, ManifestReads
from ..domain.ports import Lister, Parallel
from ..domain.sweep.fleet import RECORDS_KEPT_S, EventPathWatch
from ..domain.sweep.shards import Plan
from ..domain.sweep.sweep import ShardSweeper
from ..errors import ConfigError
from .observability import EmfCounter

# Each handler imports only what it uses (docs/BENCHMARKS.md, "Handler imports"): Powertools
# Idempotency is CheckSiblings' alone, and the sweep's services (FullSweep, SweepMap, the inventory,
# reports) are imported by the functions that build them, not by the event path's handlers.
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from ..domain.inventory.inventory import Inventory
    from ..domain.sweep.full_sweep import FullSweep
    from ..domain.sweep.sweep_map import SweepMap


def aws_client(config: Config, service: str) -> Any:
    return client(service, config.endpoint_url, config.aws_max_attempts, config.concurrency)


def utc_now() -> datetime:
    return datetime.now(UTC)


MANIFESTS_IN_FLIGHT = 4  # per reader: a stream of outcomes keeps 4 manifest reads in flight per worker


def manifest_inspector(config: Config, s3: Any) -> ManifestInspector | None:
    """None where no manifest rule is in force: then no manifest is ever read."""
    return ManifestInspector(S3Content(s3)) if config.reads_manifests else None


def _reads(s3: Any, pool: Parallel, readers: int) -> ManifestReads:
    """Manifest reads for one stream of outcomes, on `pool`, `readers` workers' worth in flight."""
    return ManifestReads(ManifestInspector(S3Content(s3)), pool, window=MANIFESTS_IN_FLIGHT * readers)


@contextmanager
def manifest_reads(config: Config, s3: Any) -> Iterator[ManifestReads]:
    with ThreadPool(config.concurrency) as pool:
        yield _reads(s3, pool, config.concurrency)


@contextmanager
def shard_sweeper(
    config: Config, bucket: str, prefix: str, plan: Plan, now: datetime
) -> Iterator[ShardSweeper]:
    """What a sweep worker process builds for itself: its own client, lister and manifest readers.

    `config.concurrency` is this worker's share of the listings; its manifest readers are as many, so
    the whole sweep keeps about 4 x N manifest reads in flight, as one process does.
    """
    s3 = aws_client(config, "s3")
    with ThreadPool(config.concurrency) as pool:
        reads = _reads(s3, pool, readers=1)  # per shard, each its own stream: 4 x its share in all
        yield ShardSweeper(
            S3Lister(s3),
            config.policy(),
            plan,
            bucket,
            prefix,
            config.group_depth,
            now,
            reads if config.reads_manifests else None,
        )


def open_inventory(
    config: Config, s3: Any, manifest_uri: str, swept_bucket: str, pool: Parallel
) -> Inventory:
    """Reads the manifest now, so a wrong path or bucket fails before anything is swept."""
    from ..adapters.inventory import S3InventoryFiles
    from ..domain.inventory.inventory import Inventory

    bucket, key = parse_s3_url(manifest_uri)
    if not key or key.endswith("/"):
        raise ConfigError(f"inventory {manifest_uri!r} must name a manifest.json, not a folder")
    return Inventory.open(
        S3InventoryFiles(s3),
        bucket,
        key,
        swept_bucket,
        pool,
        readers=config.concurrency,
        run_rows=config.inventory_run_rows,
    )


def _opened(inventory: Inventory) -> tuple[Lister, datetime]:
    return inventory, inventory.created_at


@functools.cache
def _inventory_pool(workers: int) -> ThreadPool:
    """Data-file readers for FullSweep; a warm container keeps them, idle while it is frozen."""
    return ThreadPool(workers)


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
        keep_s=config.check_deadline_seconds + RECORDS_KEPT_S,  # outlives the sweep's look back
    )
    s3 = aws_client(config, "s3")
    service = Checker(
        store=S3Objects(s3),
        queue=SqsCheckQueue(aws_client(config, "sqs"), config.check_queue_url),
        bus=DefaultBus(aws_client(config, "events")),
        notifier=SnsNotifier(aws_client(config, "sns"), config.alert_topic_arn),
        metrics=EmfCounter(metrics),
        policy=config.policy(grace_seconds=0),
        clock=utc_now,
        log=logger,
        once=once,
        manifests=manifest_inspector(config, s3),
    )
    return service, idempotency


@functools.cache
def full_sweep(config: Config, logger: Logger, metrics: Metrics) -> FullSweep:
    """Reports go to REPORT_BUCKET, or beside the backups when it is empty."""
    from ..adapters.reports import LambdaInvoker, S3Checkpoints, S3ReportPages, S3ReportStore
    from ..domain.sweep.full_sweep import FullSweep

    config.require("bucket", "alert_topic_arn")
    s3, reports = aws_client(config, "s3"), config.report_bucket or config.bucket
    return FullSweep(
        lister=S3Lister(s3),
        policy=config.policy(),
        group_depth=config.group_depth,
        bucket=config.bucket,
        watched_prefix=config.prefix,
        report_prefix=config.report_prefix,
        store=S3ReportStore(s3, reports),
        pages=S3ReportPages(s3, reports),
        region=s3.meta.region_name or "",
        checkpoints=S3Checkpoints(s3, reports),
        inventories=lambda uri: _opened(
            open_inventory(config, s3, uri, config.bucket, _inventory_pool(config.concurrency))
        ),
        invoker=LambdaInvoker(aws_client(config, "lambda")),
        concurrency=config.concurrency,
        max_run_s=config.sweep_max_run_seconds,
        bus=DefaultBus(aws_client(config, "events")),
        alerts=SnsNotifier(aws_client(config, "sns"), config.alert_topic_arn),
        metrics=EmfCounter(metrics),
        log=logger,
        clock=utc_now,
        # A warm container keeps its read workers between invocations; they idle while it is frozen.
        manifests=(
            _reads(s3, ThreadPool(config.concurrency), config.concurrency) if config.reads_manifests else None
        ),
        **fleet_health(config, s3, reports),
    )


def fleet_health(config: Config, s3: Any, reports: str) -> dict[str, Any]:
    """FullSweep's fleet ports: its rules, the previous run beside the reports, and the event path's
    records, read only where the idempotency table is named (the template always names it)."""
    from ..adapters.reports import S3RunHistory

    watch = None
    if config.idempotency_table:
        records = DynamoCheckRecords(aws_client(config, "dynamodb"), config.idempotency_table)
        watch = EventPathWatch(records, config.event_path_settle_seconds)
    return {
        "fleet": config.fleet_rules(),
        "history": S3RunHistory(s3, reports, config.report_prefix),
        "watch": watch,
    }


@functools.cache
def sweep_map(config: Config, logger: Logger, metrics: Metrics) -> SweepMap:
    """The Step Functions engine's steps: FullSweep's sweep and publishing, the run's files beside reports."""
    from ..adapters.map_files import S3MapFiles
    from ..domain.sweep.sweep_map import SweepMap

    reports = config.report_bucket or config.bucket
    return SweepMap(
        full_sweep(config, logger, metrics),
        S3MapFiles(aws_client(config, "s3"), reports),
        reports,
        batch=config.map_batch_ranges,
    )
