import json
from datetime import UTC, datetime, timedelta

import pytest

from sibling_sentinel.adapters.sqs import UnsentMessagesError
from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.rules import listing_rule
from sibling_sentinel.domain.core.verdicts import RuleVerdict, TarballVerdict, Verdict
from sibling_sentinel.domain.event_path.check import CheckMessage, MalformedMessageError, NewObject
from sibling_sentinel.domain.event_path.event_path import CHECK_FAILED, Checker, Intake, alert_text
from sibling_sentinel.errors import ThrottledError

from fakes import FakeBucket, FakeBus, FakeClock, FakeCounter, FakeLog, FakeNotifier, FakeQueue, obj

EVENT_TIME = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
KEY = "backups/h/résumé & <x>.tar.zst"
LISTING = KEY + ".list.txt"


def intake(queue: FakeQueue, log: FakeLog | None = None) -> Intake:
    return Intake(queue, Config().policy(), "bkt", "backups/", 300, 3600, log or FakeLog())


def new(key: str, etag: str = "e1", bucket: str = "bkt") -> NewObject:
    return NewObject(bucket, key, etag, 5000, EVENT_TIME)


class Rig:
    """A Checker over fakes, with a clock the test moves."""

    def __init__(self, objects: list, now: datetime) -> None:
        self.bucket = FakeBucket(objects)
        self.queue, self.bus, self.notifier = FakeQueue(), FakeBus(), FakeNotifier()
        self.metrics, self.log, self.clock = FakeCounter(), FakeLog(), FakeClock(now)
        self.checker = Checker(
            self.bucket,
            self.queue,
            self.bus,
            self.notifier,
            self.metrics,
            Config().policy(grace_seconds=0),
            self.clock,
            self.log,
        )

    def run(self, m: CheckMessage) -> str:
        return self.checker.handle_body(m.to_json())


def first_message() -> CheckMessage:
    return CheckMessage.first(new(KEY), 3600)


def tarball(etag: str = "e1") -> object:
    return obj(KEY, age_s=60, now=EVENT_TIME, etag=etag)


def test_intake_queues_one_delayed_message_per_tarball() -> None:
    # given an event with two tarballs, a listing, and a key outside the prefix
    queue, log = FakeQueue(), FakeLog()
    created = [
        new("backups/h/a.tar"),
        new("backups/h/a.tar.list.txt"),
        new("backups-old/h/b.tar"),
        new("backups/h/b.tgz"),
    ]
    # when accepted
    result = intake(queue, log).accept(created)
    # then only the two tarballs are queued, with the configured delay, and the others are skipped (debug log)
    assert result == {"queued": 2, "skipped": 2}
    assert [(m.key, d) for m, d in queue.sent] == [("backups/h/a.tar", 300), ("backups/h/b.tgz", 300)]
    assert [line[0] for line in log.lines if "skipped" in line[1]] == ["debug", "debug"]
    first = queue.sent[0][0]
    assert first.attempt == 1
    assert first.deadline == EVENT_TIME + timedelta(seconds=3600)


def test_intake_skips_tarballs_in_other_buckets_unless_no_bucket_is_configured() -> None:
    queue = FakeQueue()
    assert intake(queue).accept([new("backups/h/a.tar", bucket="other")]) == {"queued": 0, "skipped": 1}
    anywhere = Intake(queue, Config().policy(), "", "backups/", 300, 3600, FakeLog())
    assert anywhere.accept([new("backups/h/a.tar", bucket="other")]) == {"queued": 1, "skipped": 0}


def test_intake_that_cannot_queue_fails_the_invocation() -> None:
    with pytest.raises(UnsentMessagesError):
        intake(FakeQueue(fail_times=1)).accept([new("backups/h/a.tar")])


def test_intake_with_nothing_to_queue_sends_nothing() -> None:
    queue = FakeQueue()
    assert intake(queue).accept([new("backups/h/notes.txt")]) == {"queued": 0, "skipped": 1}
    assert queue.sent == []


def test_checker_passes_a_tarball_whose_listing_arrived() -> None:
    # given the tarball and a listing that arrived 30 s after it
    rig = Rig([tarball(), obj(LISTING, 300, age_s=30, now=EVENT_TIME)], EVENT_TIME + timedelta(seconds=300))
    # when checked
    assert rig.run(first_message()) == "passed"
    # then it counts a pass and the arrival lag, and alerts nobody
    assert rig.metrics.values == [("SiblingCheckPassed", 1), ("SiblingArrivalSeconds", 30.0)]
    assert rig.notifier.alerts == []
    assert rig.bucket.finds == [[KEY, LISTING]]


def test_checker_reschedules_before_the_deadline() -> None:
    rig = Rig([tarball()], EVENT_TIME + timedelta(seconds=300))
    assert rig.run(first_message()) == "rescheduled"
    ((again, delay),) = rig.queue.sent
    assert again.attempt == 2
    assert again.check_id == first_message().check_id
    assert delay == 900
    assert rig.metrics.names() == ["SiblingCheckRescheduled"]
    assert rig.notifier.alerts == []


def test_checker_alerts_once_at_the_deadline() -> None:
    # given a listing that never arrived, checked at the deadline
    rig = Rig([tarball()], EVENT_TIME + timedelta(seconds=3600))
    # when checked
    assert rig.run(first_message()) == "failed"
    # then one metric, one event and one alert, which says what is missing and what to do
    assert rig.metrics.names() == ["SiblingCheckFailed"]
    ((detail_type, detail),) = rig.bus.events
    assert detail_type == CHECK_FAILED
    assert detail["key"] == KEY
    assert detail["verdict"] == "missing"
    assert detail["siblings"][0]["sibling"] == LISTING
    ((subject, text),) = rig.notifier.alerts
    assert subject.isascii()
    assert len(subject) <= 100
    assert f"s3://bkt/{KEY}" in text
    assert f"Expected sibling: s3://bkt/{LISTING}" in text
    assert "What to do next" in text
    assert rig.queue.sent == []


def test_checker_ignores_a_tarball_rewritten_since_the_event() -> None:
    rig = Rig([tarball(etag="e2")], EVENT_TIME + timedelta(seconds=3600))
    assert rig.run(first_message()) == "superseded"
    assert rig.metrics.names() == ["SiblingCheckSuperseded"]
    assert rig.notifier.alerts == []
    assert rig.bus.events == []


def test_checker_ignores_a_deleted_tarball() -> None:
    rig = Rig([], EVENT_TIME + timedelta(seconds=3600))
    assert rig.run(first_message()) == "superseded"
    assert rig.notifier.alerts == []


def test_malformed_body_raises_and_is_logged() -> None:
    rig = Rig([], EVENT_TIME)
    with pytest.raises(MalformedMessageError):
        rig.checker.handle_body(json.dumps({"v": 1, "bucket": "b"}))
    assert rig.log.lines[0][0] == "error"


def test_throttling_fails_the_item_and_is_never_a_missing_verdict() -> None:
    # given S3 that is throttling past its retries
    rig = Rig([tarball()], EVENT_TIME + timedelta(seconds=3600))

    def throttled(bucket: str, keys: object) -> None:
        raise ThrottledError("reading: SlowDown")

    rig.bucket.find = throttled  # type: ignore[method-assign,assignment]
    # when checked
    with pytest.raises(ThrottledError):
        rig.run(first_message())
    # then nothing was reported: no metric, event or alert
    assert rig.metrics.values == []
    assert rig.bus.events == []
    assert rig.notifier.alerts == []


@pytest.mark.parametrize("verdict", ["missing", "undersized", "stale"])
def test_alert_subject_is_ascii_and_under_100_characters_for_the_longest_bucket(verdict: str) -> None:
    # given the longest bucket name S3 allows and a unicode key
    m = CheckMessage.first(NewObject("b" * 63, KEY, "e1", 1, EVENT_TIME), 1)
    result = TarballVerdict(obj(KEY), (RuleVerdict(listing_rule(), Verdict(verdict), LISTING, None, "x"),))
    # when the alert is written
    subject, text = alert_text(m, result)
    # then SNS's subject rules hold (printable ASCII, fewer than 100 characters) and the key is in the body
    assert subject.isascii()
    assert len(subject) < 100
    assert KEY in text
