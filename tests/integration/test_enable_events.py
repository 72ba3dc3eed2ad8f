"""`sibling-sentinel enable-events` against moto's S3: merge, idempotence, dry run and errors.

moto 5.2.5 stores EventBridgeConfiguration but leaves it out of GetBucketNotificationConfiguration,
where real S3 returns `<EventBridgeConfiguration/>`. The fixture adds it back, from moto's backend,
into every parsed response, so the tests see what S3 answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sibling_sentinel.cli.main import main

BUCKET = "backups-bucket"


@pytest.fixture
def s3() -> Iterator[Any]:
    """A bucket that already sends object-created events to a queue, as another team set it up."""
    with mock_aws():
        boto3.setup_default_session(region_name="us-east-1")
        boto3.DEFAULT_SESSION.events.register(
            "after-call.s3.GetBucketNotificationConfiguration", _as_s3_answers
        )  # type: ignore[union-attr]
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="indexer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [{"Id": "indexer", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        yield s3
        boto3.DEFAULT_SESSION.events.unregister(
            "after-call.s3.GetBucketNotificationConfiguration", _as_s3_answers
        )  # type: ignore[union-attr]


def _as_s3_answers(parsed: dict[str, Any], **_: Any) -> None:
    from moto.s3.models import s3_backends

    stored = s3_backends["123456789012"]["aws"].buckets[BUCKET].notification_configuration
    if stored is not None and stored.event_bridge is not None:
        parsed["EventBridgeConfiguration"] = {}


def configuration(s3: Any) -> dict[str, Any]:
    current = dict(s3.get_bucket_notification_configuration(Bucket=BUCKET))
    current.pop("ResponseMetadata")
    return current


def test_enable_events_turns_on_eventbridge_and_keeps_the_existing_queue(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a bucket with another team's queue notification
    before = configuration(s3)
    # when events are enabled
    code = main(["enable-events", "--bucket", BUCKET], env={})
    # then EventBridge is on and the queue configuration is unchanged
    after = configuration(s3)
    assert code == 0
    assert "EventBridgeConfiguration" in after
    assert after["QueueConfigurations"] == before["QueueConfigurations"]
    assert "Turned on" in capsys.readouterr().out


def test_enable_events_twice_changes_nothing_the_second_time(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["enable-events", "--bucket", BUCKET], env={})
    first = configuration(s3)
    capsys.readouterr()
    code = main(["enable-events", "--bucket", BUCKET, "--format", "json"], env={})
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["changed"] is False
    assert configuration(s3) == first


def test_dry_run_prints_the_change_and_writes_nothing(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # given the bucket as it is
    before = configuration(s3)
    # when enable-events runs with --dry-run
    code = main(["enable-events", "--bucket", BUCKET, "--dry-run"], env={})
    # then it shows the whole configuration it would write, and the bucket is untouched
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Would turn on EventBridge notifications")
    assert '"EventBridgeConfiguration": {}' in out
    assert '"Id": "indexer"' in out
    assert configuration(s3) == before


def test_missing_bucket_is_a_clear_error_exit_3(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["enable-events", "--bucket", "no-such-bucket"], env={})
    err = capsys.readouterr().err
    assert code == 3
    assert "no-such-bucket" in err
    assert "does not exist" in err


def test_a_bucket_in_another_region_is_refused_in_one_line_and_left_unchanged(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a bucket in eu-west-1, and this command running in us-east-1
    s3.create_bucket(Bucket="eu-backups", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    # when events are enabled for it
    code = main(["enable-events", "--bucket", "eu-backups"], env={})
    # then it is refused, exit 2, with one line naming both regions, and nothing is written
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "s3://eu-backups is in eu-west-1, but this runs in us-east-1" in err
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="eu-backups")
