"""The deployed shape of sibling-sentinel on a moto server, driven through the real Lambda handlers.

What template.yaml creates (bucket notifications to EventBridge, the upload rule, CheckQueue and its
DLQ, the alert topic, the idempotency table, the report prefix) is created here on an embedded moto
server. Lambda itself is the one thing moto cannot run, so this module plays its part: it hands each
delivered event to the handler function, as Lambda's event source mapping would. The demo and the
end-to-end tests both drive the system through it. CLI-only: moto is never in the Lambda bundle.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..adapters.aws import client
from ..config import parse_s3_url
from ..domain.core.tarballs import DEFAULT_EXTENSIONS
from ..lambda_edge.events import upload_pattern

ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass
class LambdaContext:
    """What the handlers read from Lambda's context object."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 256
    budget_ms: int = 900_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.budget_ms


@dataclass
class Stack:
    """One deployment on a moto endpoint. `environment()` is what template.yaml would set."""

    endpoint: str
    bucket: str
    prefix: str
    check_delay_s: int = 1
    check_deadline_s: int = 5
    max_backup_age_s: int = 0  # MAX_BACKUP_AGE_SECONDS; 0: no host's freshness is checked
    min_tarballs: int = 1
    urls: dict[str, str] = field(default_factory=dict)
    topic_arn: str = ""
    metrics: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def client(self, service: str) -> Any:
        """One client per service, shared: boto3 clients are thread-safe, and the queue is polled often."""
        if service not in self._clients:
            self._clients[service] = client(service, self.endpoint, max_attempts=3)
        return self._clients[service]

    # --- what `sam deploy` would create --------------------------------------------------------

    def create(self) -> None:
        sqs, sns, events = self.client("sqs"), self.client("sns"), self.client("events")
        self.client("s3").create_bucket(Bucket=self.bucket)
        dlq = sqs.create_queue(QueueName="CheckDLQ")["QueueUrl"]
        self.urls["dlq"] = dlq
        redrive = {"deadLetterTargetArn": self._arn("CheckDLQ"), "maxReceiveCount": "5"}
        self.urls["checks"] = sqs.create_queue(
            QueueName="CheckQueue",
            Attributes={"VisibilityTimeout": "2", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        for inbox in ("uploads", "alert-inbox", "event-inbox"):
            self.urls[inbox] = sqs.create_queue(QueueName=inbox)["QueueUrl"]
        self.topic_arn = sns.create_topic(Name="AlertTopic")["TopicArn"]
        sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="sqs",
            Endpoint=self._arn("alert-inbox"),
            Attributes={"RawMessageDelivery": "true"},
        )
        # The template's upload rule, with a queue standing in for OnTarballCreated as its target.
        events.put_rule(
            Name="TarballCreated",
            EventPattern=json.dumps(upload_pattern(self.bucket, DEFAULT_EXTENSIONS)),
        )
        events.put_targets(Rule="TarballCreated", Targets=[{"Id": "intake", "Arn": self._arn("uploads")}])
        # Whoever subscribes to the product's events (a dashboard, a ticket bot): here, an inbox.
        events.put_rule(Name="FleetHealth", EventPattern=json.dumps({"source": ["sibling-sentinel"]}))
        events.put_targets(Rule="FleetHealth", Targets=[{"Id": "inbox", "Arn": self._arn("event-inbox")}])
        self.client("dynamodb").create_table(
            TableName="IdempotencyTable",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "BACKUP_BUCKET": self.bucket,
            "BACKUP_PREFIX": self.prefix,
            "CHECK_QUEUE_URL": self.urls["checks"],
            "ALERT_TOPIC_ARN": self.topic_arn,
            "IDEMPOTENCY_TABLE": "IdempotencyTable",
            "CHECK_DELAY_SECONDS": str(self.check_delay_s),
            "CHECK_DEADLINE_SECONDS": str(self.check_deadline_s),
            "REPORT_PREFIX": "sibling-sentinel/reports/",
            "MIN_TARBALLS": str(self.min_tarballs),
            "MAX_BACKUP_AGE_SECONDS": str(self.max_backup_age_s),
            "POWERTOOLS_SERVICE_NAME": "sibling-sentinel",
            "POWERTOOLS_METRICS_NAMESPACE": "SiblingSentinel",
        }

    def record_checks(self, tarballs: list[tuple[str, str]]) -> None:
        """Writes the records the event path's first check leaves, for uploads made before the demo
        started (its history went through the event path long ago): (key, etag) each."""
        from ..adapters.once import record_id
        from ..domain.event_path.check import check_id_of

        ddb = self.client("dynamodb")
        items = [{"id": {"S": record_id(check_id_of(self.bucket, key, etag))}} for key, etag in tarballs]
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            ddb.batch_write_item(RequestItems={"IdempotencyTable": batch})

    def last_night(
        self, started_at: datetime, hosts: Sequence[str], findings: Sequence[tuple[str, str]] = ()
    ) -> str:
        """The report a previous complete sweep left, and the `latest.json` that names it (as FullSweep
        writes them), so tonight's sweep has a run to compare with. Returns the report's URI."""
        key = f"sibling-sentinel/reports/{started_at:%Y/%m/%d}/last-night.json"
        report = {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "complete": True,
            "started_at": started_at.isoformat(),
            "groups": {host: {} for host in hosts},
            "hosts_overdue": [],
            "hosts_vanished": [],
            "tarballs_not_checked": 0,
            "findings": [{"key": k, "sibling": sibling} for k, sibling in findings],
        }
        s3 = self.client("s3")
        s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(report).encode())
        pointer = {"report": key, "prefix": self.prefix, "started_at": started_at.isoformat()}
        s3.put_object(
            Bucket=self.bucket, Key="sibling-sentinel/reports/latest.json", Body=json.dumps(pointer)
        )
        return f"s3://{self.bucket}/{key}"

    def _arn(self, queue: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"

    # --- Lambda's part: deliver events to the handlers ------------------------------------------------

    def _invoke(self, handler: Callable[[Any, Any], Any], event: Any, name: str, **context: Any) -> Any:
        """Runs a handler, keeping the EMF it prints (as CloudWatch would) instead of showing it."""
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                return handler(event, LambdaContext(name, **context))
            finally:
                self._keep_metrics(printed.getvalue())

    def _keep_metrics(self, printed: str) -> None:
        for line in printed.splitlines():
            if not line.startswith('{"_aws"'):
                continue
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]
                    self.metrics[metric["Name"]] += value if isinstance(value, list) else [value]

    def deliver_uploads(self, events: list[dict[str, Any]] | None = None) -> list[dict[str, int]]:
        """The events the upload rule matched (or `events`), each handed to OnTarballCreated."""
        from ..lambda_edge.handlers import on_tarball_created

        if events is None:
            events = [json.loads(m["Body"]) for m in self.drain("uploads")]
        return [self._invoke(on_tarball_created.handler, e, "OnTarballCreated") for e in events]

    def run_checks(self, timeout_s: float = 60.0) -> int:
        """Feeds CheckQueue to CheckSiblings in batches until no check is left (the SQS event source's part).

        Returns how many batches ran. Failed items stay on the queue and come back after the
        visibility timeout, as they would in Lambda.
        """
        from ..lambda_edge.handlers import check_siblings

        sqs, url, batches = self.client("sqs"), self.urls["checks"], 0
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                if self._queue_empty(url):
                    return batches
                continue
            response = self._invoke(
                check_siblings.handler, _sqs_event(got, self._arn("CheckQueue")), "CheckSiblings"
            )
            batches += 1
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            for m in got:
                if m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        raise TimeoutError(f"checks still queued after {timeout_s:.0f}s")

    def _queue_empty(self, url: str) -> bool:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attrs = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return all(int(attrs.get(n, 0)) == 0 for n in names)

    def nightly_sweep(self, budget_ms: int = 900_000) -> dict[str, Any]:
        """The schedule firing FullSweep."""
        from ..lambda_edge.handlers import full_sweep

        result: dict[str, Any] = self._invoke(
            full_sweep.handler,
            {"trigger": "schedule"},
            "FullSweep",
            memory_limit_in_mb=1769,
            budget_ms=budget_ms,
        )
        return result

    # --- what subscribers saw ------------------------------------------------------------------------

    def drain(self, inbox: str) -> list[dict[str, Any]]:
        """Every message waiting in a queue, removed from it."""
        sqs, messages = self.client("sqs"), []
        while got := sqs.receive_message(
            QueueUrl=self.urls[inbox],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", []):
            for m in got:
                sqs.delete_message(QueueUrl=self.urls[inbox], ReceiptHandle=m["ReceiptHandle"])
            messages += got
        return messages

    def alerts(self) -> list[dict[str, str]]:
        """Every SNS alert: its `kind` attribute and its text (raw delivery keeps the text as sent)."""
        return [
            {"kind": m.get("MessageAttributes", {}).get("kind", {}).get("StringValue", ""), "text": m["Body"]}
            for m in self.drain("alert-inbox")
        ]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in self.drain("event-inbox")]

    def read_report(self, uri: str) -> dict[str, Any]:
        bucket, key = parse_s3_url(uri)
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        report: dict[str, Any] = json.loads(body)
        return report


def _sqs_event(messages: list[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }
