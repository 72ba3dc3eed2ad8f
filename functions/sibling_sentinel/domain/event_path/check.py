"""The event path's domain: the check message, and what to do with a tarball once it is checked.

A check message travels OnTarballCreated -> CheckQueue -> CheckSiblings, and CheckSiblings sends it
back to its own queue until the siblings are there or the deadline passes. Lambda stops such a loop
after about 16 invocations (unless the function sets `RecursiveLoop: Allow`), and it does so
silently, so the chain must end well before that: Config refuses a deadline that needs more than
MAX_ATTEMPTS checks, a message may not carry a deadline further than MAX_WINDOW_S from its event,
and the check that reaches MAX_ATTEMPTS is the last one whatever its deadline says.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..core.verdicts import TarballVerdict, Verdict

MESSAGE_VERSION = 1
SQS_MAX_DELAY_S = 900
MAX_ATTEMPTS = 14  # plus OnTarballCreated's own invocation, 15: below Lambda's ~16
MAX_WINDOW_S = SQS_MAX_DELAY_S * MAX_ATTEMPTS  # 3.5 h: a first delay of up to 900 s and 13 more of 900 s


def checks_needed(delay_s: int, deadline_s: int) -> int:
    """How many CheckSiblings invocations a tarball whose siblings never come goes through."""
    return 1 + max(0, math.ceil((deadline_s - delay_s) / SQS_MAX_DELAY_S))


class MalformedMessageError(ValueError):
    """A check message that cannot be read; it must fail (and reach the DLQ), never vanish."""


@dataclass(frozen=True)
class NewObject:
    """What an S3 "Object Created" event says, with the key already decoded exactly once."""

    bucket: str
    key: str
    etag: str
    size: int
    event_time: datetime


def check_id_of(bucket: str, key: str, etag: str) -> str:
    """Same object, same upload, same id: duplicated events collapse onto one check."""
    return hashlib.sha256(json.dumps([bucket, key, etag]).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class CheckMessage:
    bucket: str
    key: str
    etag: str
    size: int
    event_time: datetime
    attempt: int
    deadline: datetime
    check_id: str
    v: int = MESSAGE_VERSION

    @classmethod
    def first(cls, new: NewObject, deadline_s: int) -> CheckMessage:
        return cls(
            new.bucket,
            new.key,
            new.etag,
            new.size,
            new.event_time,
            1,
            new.event_time + timedelta(seconds=min(deadline_s, MAX_WINDOW_S)),
            check_id_of(new.bucket, new.key, new.etag),
        )

    def next(self) -> CheckMessage:
        return replace(self, attempt=self.attempt + 1)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["event_time"] = self.event_time.isoformat()
        body["deadline"] = self.deadline.isoformat()
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, body: Any) -> CheckMessage:
        if not isinstance(body, dict):
            raise MalformedMessageError(f"check message must be a JSON object, got {type(body).__name__}")
        if body.get("v") != MESSAGE_VERSION:
            raise MalformedMessageError(f"unknown check message version {body.get('v')!r}")
        try:
            message = cls(
                bucket=_text(body, "bucket"),
                key=_text(body, "key"),
                etag=str(body["etag"]),
                size=int(body["size"]),
                event_time=_when(body, "event_time"),
                attempt=int(body["attempt"]),
                deadline=_when(body, "deadline"),
                check_id=_text(body, "check_id"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedMessageError(f"check message field missing or wrong: {e}") from e
        if not 1 <= message.attempt <= MAX_ATTEMPTS:
            raise MalformedMessageError(f"attempt {message.attempt} is outside 1..{MAX_ATTEMPTS}")
        if (message.deadline - message.event_time).total_seconds() > MAX_WINDOW_S:
            raise MalformedMessageError("deadline is further than the longest check window from the event")
        return message

    @classmethod
    def from_json(cls, text: str) -> CheckMessage:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise MalformedMessageError(f"check message is not JSON: {e}") from e


def text_field(value: Any, name: str) -> str:
    """A field that must be a non-empty string, in a check message or an S3 event alike."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def aware_time(value: Any, name: str) -> datetime:
    """An ISO 8601 time that must carry a time zone, in a check message or an S3 event alike."""
    when = datetime.fromisoformat(text_field(value, name))
    if when.tzinfo is None:
        raise ValueError(f"{name} must carry a time zone")
    return when


def _text(body: dict[str, Any], name: str) -> str:
    return text_field(body[name], name)


def _when(body: dict[str, Any], name: str) -> datetime:
    return aware_time(body[name], name)


class Step(StrEnum):
    PASSED = "passed"
    RESCHEDULED = "rescheduled"
    FAILED = "failed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Decision:
    step: Step
    delay_s: int = 0
    arrival_s: float | None = None


def decide(message: CheckMessage, verdict: TarballVerdict | None, now: datetime) -> Decision:
    """What one check leads to. A gone (None) or rewritten tarball is covered by its own event."""
    if verdict is None or (message.etag and verdict.tarball.etag != message.etag):
        return Decision(Step.SUPERSEDED)
    current = verdict.tarball
    if verdict.verdict is Verdict.OK:
        newest = max((r.sibling.last_modified for r in verdict.results if r.sibling), default=None)
        lag = 0.0 if newest is None else (newest - current.last_modified).total_seconds()
        return Decision(Step.PASSED, arrival_s=max(0.0, lag))
    left = (message.deadline - now).total_seconds()
    if left > 0 and message.attempt < MAX_ATTEMPTS:
        return Decision(Step.RESCHEDULED, delay_s=min(SQS_MAX_DELAY_S, math.ceil(left)))
    return Decision(Step.FAILED)
