"""A moto stack shaped like the deployed one (bucket, queues, topic, bus rule, table) and helpers on it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from moto.sqs.models import sqs_backends

from sibling_sentinel.cli import demo_stack
from sibling_sentinel.domain.event_path.check import CheckMessage, NewObject

from fixtures import event

BUCKET = "backups-bucket"
REPORTS = "reports-bucket"
ACCOUNT, REGION = "123456789012", "us-east-1"


def LambdaContext(
    function_name: str = "CheckSiblings", aws_request_id: str = "req-1", remaining_ms: int = 600_000
) -> demo_stack.LambdaContext:
    """The context object the handlers read, as the demo builds it."""
    return demo_stack.LambdaContext(function_name, aws_request_id, budget_ms=remaining_ms)


@dataclass
class Stack:
    s3: Any
    sqs: Any
    queue_url: str
    alerts_url: str
    events_url: str

    def put(self, key: str, size: int = 5000) -> str:
        return str(self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * size)["ETag"]).strip('"')

    def checked(self, *keys: str) -> None:
        """Records, as CheckSiblings' first check does, that the event path saw these uploads."""
        from sibling_sentinel.adapters.once import record_id
        from sibling_sentinel.domain.event_path.check import check_id_of

        ddb = boto3.client("dynamodb")
        for key in keys:
            etag = str(self.s3.head_object(Bucket=BUCKET, Key=key)["ETag"]).strip('"')
            item = {"id": {"S": record_id(check_id_of(BUCKET, key, etag))}, "status": {"S": "COMPLETED"}}
            ddb.put_item(TableName="checks-once", Item=item)

    def drain(self, url: str) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]

    def alerts(self) -> list[dict[str, Any]]:
        """The SNS alerts delivered so far, as raw SQS messages: their bodies are plain text."""
        got = self.sqs.receive_message(
            QueueUrl=self.alerts_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return list(got.get("Messages", []))

    def queued(self) -> list[tuple[dict[str, Any], int]]:
        """Messages in the check queue with their delay, read from moto's backend (delays are real time)."""
        queue = sqs_backends[ACCOUNT][REGION].queues["checks"]
        return [
            (json.loads(m.body), round((m.delayed_until - (m.sent_timestamp or 0)) / 1000))
            for m in queue._messages
        ]


def sqs_event(*bodies: str) -> dict[str, Any]:
    records = event("sqs-check-batch.json")["Records"][:1]
    template = records[0]
    return {"Records": [{**template, "messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)]}


def message_for(stack: Stack, key: str, etag: str, event_age_s: float) -> CheckMessage:
    when = datetime.now(UTC) - timedelta(seconds=event_age_s)
    return CheckMessage.first(NewObject(BUCKET, key, etag, 5000, when), 3600)


def emf(out: str) -> dict[str, Any]:
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert blobs, f"no EMF on stdout: {out!r}"
    merged: dict[str, Any] = {}
    for blob in blobs:
        merged.update(blob)
    return merged


class Body:
    """The raw body botocore reads an `AWSResponse` from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def answer_with(
    events: Any,
    operation: str,
    status: int,
    code: str = "",
    when: Callable[[int, str], bool] = lambda attempt, url: True,
) -> list[str]:
    """Answer S3 `operation` with an error while `when(attempt, url)` holds, before moto sees it.

    `events` is a client's (`client.meta.events`) or a session's: a client copies its session's hooks
    when it is made. Returns the URL of every request the hook saw, attempts and retries included.
    """
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode() if code else b""
    seen: list[str] = []

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        seen.append(request.url)
        if when(len(seen), request.url):
            return AWSResponse(request.url, status, {}, Body(body))
        return None

    events.register_first(f"before-send.s3.{operation}", hook)
    return seen


FailWith = Callable[..., None]  # the `fail_with` fixture


def fail_with(status: int, code: str, operation: str, only: str = "") -> None:
    """Every client made from the default session from now on answers `operation` requests whose URL
    contains `only` with this error. Use it through the `fail_with` fixture, which replaces the default
    session after the test, pass or fail."""
    answer_with(boto3.DEFAULT_SESSION.events, operation, status, code, lambda _, url: only in url)  # type: ignore[union-attr]
