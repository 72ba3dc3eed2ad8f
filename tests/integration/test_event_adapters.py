"""SQS, EventBridge and SNS adapters: every failure becomes the product's error, nothing is lost quietly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sibling_sentinel.adapters.notify import DefaultBus, SnsNotifier
from sibling_sentinel.adapters.once import IN_FLIGHT, once_per_step
from sibling_sentinel.adapters.sqs import SqsCheckQueue, UnsentMessagesError
from sibling_sentinel.cli.demo import run_demo
from sibling_sentinel.domain.event_path.check import CheckMessage, NewObject
from sibling_sentinel.errors import AccessDeniedError, StorageError

from stack import LambdaContext

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/checks"


def messages(n: int) -> list[CheckMessage]:
    when = datetime(2026, 11, 22, tzinfo=UTC)
    return [CheckMessage.first(NewObject("b", f"backups/h/{i}.tar", "e", 1, when), 3600) for i in range(n)]


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sqs")
        client.create_queue(QueueName="checks")
        yield client


def test_queue_sends_in_batches_of_ten(sqs: Any) -> None:
    # given 25 messages
    SqsCheckQueue(sqs, QUEUE_URL).send(messages(25), 0)
    # then all 25 arrive
    got = 0
    while batch := sqs.receive_message(QueueUrl=QUEUE_URL, MaxNumberOfMessages=10).get("Messages"):
        got += len(batch)
        sqs.delete_message_batch(
            QueueUrl=QUEUE_URL,
            Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch],
        )
    assert got == 25


def test_queue_retries_entries_that_failed_on_the_service_side() -> None:
    # given SQS failing one entry with a server fault, then accepting it on the retry
    client = boto3.client("sqs", region_name="us-east-1")
    sleeps: list[float] = []
    with Stubber(client) as stub:
        stub.add_response(
            "send_message_batch", {"Successful": [_ok("0")], "Failed": [_fail("1", sender=False)]}
        )
        stub.add_response("send_message_batch", {"Successful": [_ok("1")], "Failed": []})
        # when two messages are sent
        SqsCheckQueue(client, QUEUE_URL, sleep=sleeps.append).send(messages(2), 60)
        # then the failed one was sent again after a back-off, and nothing is left
        stub.assert_no_pending_responses()
    assert len(sleeps) == 1


def test_queue_raises_when_entries_stay_unsent() -> None:
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_response("send_message_batch", {"Successful": [], "Failed": [_fail("0", sender=False)]})
        with pytest.raises(
            UnsentMessagesError, match=r"1 of 1 checks not queued: backups/h/0.tar: InternalError"
        ):
            SqsCheckQueue(client, QUEUE_URL, attempts=3, sleep=lambda _: None).send(messages(1), 0)


def test_queue_does_not_retry_its_own_mistakes_but_still_reports_them() -> None:
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("send_message_batch", {"Successful": [], "Failed": [_fail("0", sender=True)]})
        with pytest.raises(UnsentMessagesError):
            SqsCheckQueue(client, QUEUE_URL, sleep=lambda _: None).send(messages(1), 0)
        stub.assert_no_pending_responses()


def test_queue_access_denied_is_the_products_error() -> None:
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("send_message_batch", "AccessDenied", http_status_code=403)
        with pytest.raises(AccessDeniedError):
            SqsCheckQueue(client, QUEUE_URL).send(messages(1), 0)


def _ok(i: str) -> dict[str, str]:
    return {"Id": i, "MessageId": f"m{i}", "MD5OfMessageBody": "x" * 32}


def _fail(i: str, sender: bool) -> dict[str, Any]:
    return {"Id": i, "SenderFault": sender, "Code": "InternalError", "Message": "try again"}


def test_event_put_that_fails_an_entry_raises() -> None:
    client = boto3.client("events", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]},
        )
        with pytest.raises(StorageError, match="InternalFailure: boom"):
            DefaultBus(client).put("Sibling Check Failed", {"key": "k"})


def test_event_put_denied_raises_access_denied() -> None:
    client = boto3.client("events", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("put_events", "AccessDeniedException", http_status_code=400)
        with pytest.raises(AccessDeniedError):
            DefaultBus(client).put("Sibling Check Failed", {"key": "k"})


def test_sns_publish_to_a_missing_topic_is_an_error() -> None:
    with mock_aws():
        client = boto3.client("sns")
        with pytest.raises(StorageError, match="NotFound"):
            SnsNotifier(client, "arn:aws:sns:us-east-1:123456789012:nope").publish("s", "m", "check-failed")


def test_sns_alert_carries_its_kind_as_a_message_attribute_for_filtering() -> None:
    with mock_aws():
        # given a topic with a queue subscribed through a filter policy on `kind`
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        url = sqs.create_queue(QueueName="pager")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["sweep-breach"]})},
        )
        # when one alert of each kind is published
        notifier = SnsNotifier(sns, topic)
        notifier.publish("check", "a check failed", "check-failed")
        notifier.publish("sweep", "the sweep breached", "sweep-breach")
        # then the filtered subscriber got only the sweep breach, with its attributes
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        (message,) = got["Messages"]
        assert message["Body"] == "the sweep breached"
        assert message["MessageAttributes"]["kind"]["StringValue"] == "sweep-breach"
        assert message["MessageAttributes"]["source"]["StringValue"] == "sibling-sentinel"


def test_demo_runs_end_to_end_and_its_self_check_passes() -> None:
    # given nothing but this package and moto
    out = StringIO()
    # when the demo runs (embedded moto server over HTTP, the real handlers and CLI code)
    code = run_demo(out)
    # then every part an operator needs is shown, and every verdict, alert and metric is as expected
    text = out.getvalue()
    assert code == 0, text
    for shown in (
        "== 4. The nightly sweep",  # the per-host table
        "host-17  24",  # the host that stopped backing up
        "<- OVERDUE: no backup for a week",
        "--- kind=sweep-breach",  # the alerts
        "--- kind=check-failed",
        "SweepCompleted             1",  # the metrics
        "Sweep Completed",  # the events
        "s3://demo-backups/sibling-sentinel/reports/",  # the report
        "--endpoint-url http://127.0.0.1:",  # the commands to run it yourself
        "self-check: every verdict, alert and metric is the expected one",
        "OVERDUE: host host-17",  # fleet health: the silent host, named in the alert
        "not checked: s3://demo-backups/backups/host-15/",  # the upload the event path never saw
        "fleet check: the overdue hosts, the vanished host and the unchecked upload were caught",
        "VANISHED: host host-21",
    ):
        assert shown in text


def test_a_duplicate_of_a_step_still_in_flight_is_done_not_failed() -> None:
    # given the idempotent step on a DynamoDB table
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="once",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        once, config = once_per_step(ddb, "once", keep_s=3600)
        config.register_lambda_context(LambdaContext(remaining_ms=60_000))
        runs: list[str] = []
        duplicate: list[object] = []

        def body(message: dict[str, Any]) -> str:
            runs.append(message["check_id"])
            if len(runs) == 1:  # a duplicate delivery arrives while this one is still running
                duplicate.append(step(message=message))
            return "rescheduled"

        step = once(body)
        # when the step runs, and a copy of it arrives in flight, and another after it finished
        first = step(message={"check_id": "c1", "attempt": 1})
        later = step(message={"check_id": "c1", "attempt": 1})
        # then the body ran once; the in-flight copy is done (not failed) and the later one gets the result
        assert runs == ["c1"]
        assert duplicate == [IN_FLIGHT]
        assert first == later == "rescheduled"
        # and the next attempt is a new step
        step(message={"check_id": "c1", "attempt": 2})
        assert runs == ["c1", "c1"]
