"""OnTarballCreated and CheckSiblings as plain services over ports; the handlers only wire them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ...errors import SentinelError
from ..core.alerts import sns_subject
from ..core.verdicts import Policy, TarballVerdict
from ..manifests.inspection import ManifestInspector
from ..manifests.one_tarball import judge_one
from ..ports import Counter, EventBus, Log, Notifier, ObjectStore
from .check import CheckMessage, Decision, MalformedMessageError, NewObject, Step, decide

CHECK_FAILED = "Sibling Check Failed"
ALERT_CHECK_FAILED = "check-failed"


class CheckQueue(Protocol):
    """Sends check messages with a delay; raises if any message is left unsent."""

    def send(self, messages: Sequence[CheckMessage], delay_s: int) -> None: ...


@dataclass(frozen=True)
class Intake:
    """OnTarballCreated: keep tarballs under the prefix, queue one delayed check for each."""

    queue: CheckQueue
    policy: Policy
    bucket: str
    prefix: str
    delay_s: int
    deadline_s: int
    log: Log

    def watches(self, new: NewObject) -> bool:
        """A tarball under the prefix, in the backup bucket (any bucket when none is configured)."""
        in_bucket = not self.bucket or new.bucket == self.bucket
        return in_bucket and new.key.startswith(self.prefix) and self.policy.naming.is_tarball(new.key)

    def accept(self, created: Iterable[NewObject]) -> dict[str, int]:
        messages, skipped = [], 0
        for new in created:
            if not self.watches(new):
                self.log.debug(
                    "skipped: not a tarball under the prefix", extra={"bucket": new.bucket, "key": new.key}
                )
                skipped += 1
                continue
            messages.append(CheckMessage.first(new, self.deadline_s))
        if messages:
            self.queue.send(messages, self.delay_s)
        for m in messages:
            self.log.info(
                "check queued", extra={"key": m.key, "check_id": m.check_id, "delay_s": self.delay_s}
            )
        return {"queued": len(messages), "skipped": skipped}


Once = Callable[[Callable[..., Any]], Callable[..., Any]]


def _every_time(fn: Callable[..., Any]) -> Callable[..., Any]:
    return fn


@dataclass
class Checker:
    """CheckSiblings: judge one tarball's siblings, then pass it, try again later, or alert once.

    `once` makes a step idempotent per (check_id, attempt): a duplicated event or a redelivered
    message finds the step already done and does nothing, so one upload never pages twice.
    """

    store: ObjectStore
    queue: CheckQueue
    bus: EventBus
    notifier: Notifier
    metrics: Counter
    policy: Policy
    clock: Callable[[], datetime]
    log: Log
    once: Once = _every_time
    manifests: ManifestInspector | None = None  # reads manifests where the manifest rule is in force
    _step: Callable[..., Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._step = self.once(self._run)

    def handle_body(self, body: str) -> str:
        """Malformed bodies raise, so the batch reports the item failed and SQS redrives it to the DLQ."""
        try:
            message = CheckMessage.from_json(body)
        except MalformedMessageError as e:
            self.log.error("malformed check message; it will reach the DLQ", extra={"reason": str(e)})
            raise
        try:
            return str(self._step(message=message))  # `once` keys it on [check_id, attempt]
        except SentinelError as e:
            self.log.warning(
                "check could not be made; SQS will retry it", extra={"key": message.key, "reason": str(e)}
            )
            raise

    def _run(self, message: CheckMessage) -> str:
        now = self.clock()
        verdict = judge_one(self.store, message.bucket, self.policy, message.key, now, self.manifests)
        decision = decide(message, verdict, now)
        self._act(message, decision, verdict)
        return decision.step.value

    def _act(self, msg: CheckMessage, decision: Decision, verdict: TarballVerdict | None) -> None:
        context = {"key": msg.key, "check_id": msg.check_id, "attempt": msg.attempt}
        if decision.step is Step.SUPERSEDED:
            self.log.info("tarball gone or rewritten since the event; its own event covers it", extra=context)
            self.metrics.count("SiblingCheckSuperseded")
        elif decision.step is Step.PASSED:
            self.metrics.count("SiblingCheckPassed")
            self.metrics.seconds("SiblingArrivalSeconds", decision.arrival_s or 0.0)
            self.log.info("siblings present", extra=context)
        elif decision.step is Step.RESCHEDULED:
            self.queue.send([msg.next()], decision.delay_s)
            self.metrics.count("SiblingCheckRescheduled")
            self.log.info(
                "siblings not there yet; checking again", extra={**context, "delay_s": decision.delay_s}
            )
        else:
            assert verdict is not None
            self.metrics.count("SiblingCheckFailed")
            # The event goes first: if the page then fails, the retry repeats a cheap event, never a page.
            self.bus.put(CHECK_FAILED, failure_detail(msg, verdict))
            subject, text = alert_text(msg, verdict)
            self.notifier.publish(subject, text, kind=ALERT_CHECK_FAILED)
            self.log.warning(
                "sibling check failed at its deadline", extra={**context, "verdict": verdict.verdict}
            )


def failure_detail(msg: CheckMessage, verdict: TarballVerdict) -> dict[str, Any]:
    return {
        "bucket": msg.bucket,
        "key": msg.key,
        "etag": msg.etag,
        "verdict": verdict.verdict.value,
        "siblings": [r.to_dict() for r in verdict.not_ok],
        "check_id": msg.check_id,
        "attempt": msg.attempt,
        "event_time": msg.event_time.isoformat(),
        "deadline": msg.deadline.isoformat(),
    }


def alert_text(msg: CheckMessage, verdict: TarballVerdict) -> tuple[str, str]:
    """The key goes in the body only: a subject is cut short and made ASCII (`sns_subject`)."""
    subject = sns_subject(f"sibling-sentinel: {verdict.verdict.value} sibling in s3://{msg.bucket}")
    lines = [
        f"Backup tarball: s3://{msg.bucket}/{msg.key}",
        f"Verdict: {verdict.verdict.value} (attempt {msg.attempt}; deadline {msg.deadline.isoformat()})",
        "",
    ]
    for r in verdict.not_ok:
        lines.append(f"Expected sibling: s3://{msg.bucket}/{r.sibling_key}")
        lines.append(f"  {r.rule.name}: {r.verdict.value}: {r.reason}")
    lines += [
        "",
        "What to do next:",
        "  1. Look at the backup job that wrote this tarball: did its listing step run, and did it fail?",
        # --grace 0: the check's deadline was its grace; the CLI's default grace would say "pending"
        f"  2. Confirm: sibling-sentinel check s3://{msg.bucket}/{msg.key} --grace 0",
        "  3. Recreate the sibling from the tarball (a listing is `tar -tf <tarball>`; a manifest is "
        "written by the backup job) and upload it to the expected key above.",
        "  4. The nightly sweep keeps reporting this tarball until its siblings are fixed.",
        f"check_id: {msg.check_id}",
    ]
    return subject, "\n".join(lines)
