"""The `stack` fixture: the deployed shape under moto, with the environment the template sets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import boto3
import pytest
from aws_lambda_powertools import Metrics
from moto import mock_aws

from sibling_sentinel.cli import main as cli
from sibling_sentinel.lambda_edge import wiring

import stack as stack_helpers
from stack import ACCOUNT, BUCKET, REGION, REPORTS, Stack


@pytest.fixture(autouse=True)
def _sweeps_stay_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process mock does not reach a spawned worker process, so the CLI here runs as if on one
    CPU. Worker processes are tested in test_processes.py and, over HTTP, in tests/e2e."""
    monkeypatch.setattr(cli, "usable_cpus", lambda: 1)


@pytest.fixture
def fail_with() -> Iterator[Callable[..., None]]:
    """`stack.fail_with` for one test: the default session is replaced before it and after it, pass or
    fail, so an injected error never reaches another test's clients."""
    boto3.setup_default_session()
    yield stack_helpers.fail_with
    boto3.setup_default_session()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws(config={"lambda": {"use_docker": False}}):  # FullSweep invokes itself; nothing runs it
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=REPORTS)
        queue_url = sqs.create_queue(QueueName="checks")["QueueUrl"]
        alerts_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        events_url = sqs.create_queue(QueueName="event-inbox")["QueueUrl"]
        topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
        boto3.client("sns").subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:alert-inbox",
            Attributes={"RawMessageDelivery": "true"},
        )
        events = boto3.client("events")
        events.put_rule(Name="failed", EventPattern=json.dumps({"source": ["sibling-sentinel"]}))
        events.put_targets(
            Rule="failed", Targets=[{"Id": "1", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:event-inbox"}]
        )
        boto3.client("dynamodb").create_table(
            TableName="checks-once",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        for var, value in {
            "BACKUP_BUCKET": BUCKET,
            "BACKUP_PREFIX": "backups/",
            "CHECK_QUEUE_URL": queue_url,
            "ALERT_TOPIC_ARN": topic,
            "IDEMPOTENCY_TABLE": "checks-once",
            "CHECK_DELAY_SECONDS": "300",
            "CHECK_DEADLINE_SECONDS": "3600",
            "REPORT_BUCKET": REPORTS,
            "REPORT_PREFIX": "sibling-sentinel/reports/",
            "MIN_TARBALLS": "1",
            "MAX_BACKUP_AGE_SECONDS": "93600",
        }.items():
            monkeypatch.setenv(var, value)
        _forget_clients()
        yield Stack(s3, sqs, queue_url, alerts_url, events_url)
        _forget_clients()
        Metrics().clear_metrics()


def _forget_clients() -> None:
    """Warm-container caches hold clients bound to one moto instance; each test gets fresh ones."""
    for cached in (wiring.intake, wiring.checker, wiring.full_sweep):
        cached.cache_clear()
