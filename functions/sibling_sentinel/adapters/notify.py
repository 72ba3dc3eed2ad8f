"""Where a failed check is announced: the default EventBridge bus and the SNS alert topic."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.core.alerts import EVENT_SOURCE
from ..errors import StorageError
from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef


class DefaultBus:
    """The account's default EventBridge bus, where DESIGN.md puts the product's events."""

    def __init__(self, client: EventBridgeClient) -> None:
        self._events = client

    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": "default",
        }
        try:
            r = self._events.put_events(Entries=[entry])  # type: ignore[list-item]
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"putting a {detail_type!r} event") from e
        if r.get("FailedEntryCount"):
            failure = r["Entries"][0]
            raise StorageError(
                f"putting a {detail_type!r} event: {failure.get('ErrorCode')}: {failure.get('ErrorMessage')}"
            )


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._sns = client
        self._topic = topic_arn

    def publish(self, subject: str, message: str, kind: str) -> None:
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "kind": {"DataType": "String", "StringValue": kind},
            "source": {"DataType": "String", "StringValue": EVENT_SOURCE},
        }
        try:
            self._sns.publish(
                TopicArn=self._topic, Subject=subject, Message=message, MessageAttributes=attributes
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"publishing to {self._topic}") from e
