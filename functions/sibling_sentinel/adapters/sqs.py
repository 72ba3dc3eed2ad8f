"""CheckQueue on SQS: SendMessageBatch in tens, failed entries retried, anything left unsent raises."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.event_path.check import SQS_MAX_DELAY_S, CheckMessage
from ..errors import SentinelError
from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

BATCH = 10


class UnsentMessagesError(SentinelError):
    """Some checks could not be queued; the invocation fails so the event is delivered again."""


class SqsCheckQueue:
    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sqs = client
        self._url = queue_url
        self._attempts = attempts
        self._sleep = sleep

    def send(self, messages: Sequence[CheckMessage], delay_s: int) -> None:
        delay = max(0, min(SQS_MAX_DELAY_S, delay_s))
        unsent: list[str] = []
        for start in range(0, len(messages), BATCH):
            unsent += self._send_batch(messages[start : start + BATCH], delay)
        if unsent:
            raise UnsentMessagesError(
                f"{len(unsent)} of {len(messages)} checks not queued: {'; '.join(unsent)}"
            )

    def _send_batch(self, batch: Sequence[CheckMessage], delay: int) -> list[str]:
        pending: dict[str, SendMessageBatchRequestEntryTypeDef] = {
            str(i): {"Id": str(i), "MessageBody": m.to_json(), "DelaySeconds": delay}
            for i, m in enumerate(batch)
        }
        failed: dict[str, str] = {}
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(0.1 * 2**attempt)
            try:
                r = self._sqs.send_message_batch(QueueUrl=self._url, Entries=list(pending.values()))
            except (ClientError, BotoCoreError) as e:
                raise translate(e, f"queueing checks on {self._url}") from e
            for ok in r.get("Successful", []):
                pending.pop(ok["Id"], None)
                failed.pop(ok["Id"], None)
            for f in r.get("Failed", []):
                failed[f["Id"]] = f"{f.get('Code', '')}: {f.get('Message', '')}"
                if f.get("SenderFault"):
                    pending.pop(f["Id"], None)  # our own fault: sending it again cannot help
            if not pending:
                break
        return [f"{batch[int(i)].key}: {reason}" for i, reason in failed.items()]
