"""Reads S3 "Object Created" events in both shapes, decoding each key exactly once.

- EventBridge (`detail-type: Object Created`, source `aws.s3`): `detail.object.key` is the raw key.
  Powertools' `S3EventBridgeNotificationObject.key` applies unquote_plus anyway, which would turn a
  literal '+' into a space, so the raw field is read instead.
- Classic notifications (`Records`, from S3 -> Lambda/SNS/SQS): `s3.object.key` is URL-encoded with
  '+' for a space. Powertools' `S3Object.key` returns it as is, so it is decoded here with unquote_plus.
  When the notification went through SNS or SQS first, the S3 event is unwrapped from the envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, S3EventBridgeNotificationEvent
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

from ..domain.event_path.check import NewObject, aware_time, text_field


class MalformedEventError(ValueError):
    """Not an S3 Object Created event this function understands; the invocation fails loudly."""


def created_objects(event: Mapping[str, Any]) -> list[NewObject]:
    try:
        if "Records" in event:
            return _from_records(event)
        if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
            return [_from_eventbridge(event)]
        if event.get("Event") == "s3:TestEvent":
            return []  # S3 sends this once when a notification is configured
    except MalformedEventError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MalformedEventError(f"malformed S3 event: {type(e).__name__}: {e}") from e
    raise MalformedEventError(f"not an S3 Object Created event (top-level keys: {sorted(event)[:8]})")


def _from_eventbridge(event: Mapping[str, Any]) -> NewObject:
    parsed = S3EventBridgeNotificationEvent(dict(event))
    obj = parsed.detail.object
    return NewObject(
        bucket=text_field(parsed.detail.bucket.name, "detail.bucket.name"),
        key=text_field(obj["key"], "detail.object.key"),
        # AWS spells it `etag`; moto's S3 -> EventBridge `eTag`. The sweep finds the check by it.
        etag=str(obj.get("etag") or obj.get("eTag") or "").strip('"'),
        size=int(obj.get("size") or 0),
        event_time=aware_time(parsed.time, "time"),
    )


def _from_records(event: Mapping[str, Any]) -> list[NewObject]:
    created = []
    for record in S3Event(dict(event)).records:
        source = record.get("eventSource") or record.get("EventSource")
        if source == "aws:sqs":  # S3 -> SQS -> Lambda, or S3 -> SNS -> SQS -> Lambda
            created += created_objects(_unwrap_sns(json.loads(record["body"])))
        elif source == "aws:sns":  # S3 -> SNS -> Lambda
            created += created_objects(json.loads(record["Sns"]["Message"]))
        elif source != "aws:s3":
            raise ValueError(f"record from {source!r}, not S3, SNS or SQS")
        elif str(record.get("eventName", "")).startswith("ObjectCreated"):
            created.append(_from_s3_record(record))
    return created


def _unwrap_sns(body: Any) -> Any:
    """An SNS envelope delivered to SQS without raw delivery carries the S3 event in `Message`."""
    if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
        return json.loads(body["Message"])
    return body


def _from_s3_record(record: S3EventRecord) -> NewObject:
    s3 = record.s3
    return NewObject(
        bucket=text_field(s3.bucket.name, "s3.bucket.name"),
        key=unquote_plus(text_field(s3.get_object.key, "s3.object.key")),
        etag=str(s3.get_object.get("eTag") or ""),
        size=int(s3.get_object.get("size") or 0),
        event_time=aware_time(record.event_time, "eventTime"),
    )


def upload_pattern(bucket: str, extensions: Sequence[str]) -> dict[str, Any]:
    """The EventBridge pattern template.yaml deploys: Object Created for every key the naming rule calls
    a tarball, in any case (`suffix` with `equals-ignore-case`), so siblings never invoke the function.

    A suffix and a prefix cannot be ANDed on one field, so the watched prefix is left to `Intake.watches`:
    a tarball outside it costs one invocation that skips it. The demo routes its uploads through this
    pattern, and a test keeps it equal to the template's.
    """
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [bucket]},
            "object": {"key": [{"suffix": {"equals-ignore-case": ext}} for ext in extensions]},
        },
    }
