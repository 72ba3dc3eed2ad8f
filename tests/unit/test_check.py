import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sibling_sentinel.config import Config
from sibling_sentinel.domain.event_path.check import (
    MAX_ATTEMPTS,
    MAX_WINDOW_S,
    CheckMessage,
    MalformedMessageError,
    NewObject,
    Step,
    check_id_of,
    decide,
)

from fakes import obj

EVENT_TIME = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
KEY = "backups/h/a b+c.tar.zst"
NEW = NewObject("bkt", KEY, "etag1", 5000, EVENT_TIME)
POLICY = Config().policy(grace_seconds=0)


def message(attempt: int = 1, deadline_s: int = 3600) -> CheckMessage:
    m = CheckMessage.first(NEW, deadline_s)
    return m if attempt == 1 else CheckMessage.from_dict({**m.to_dict(), "attempt": attempt})


def at(seconds_after_event: float) -> datetime:
    return EVENT_TIME + timedelta(seconds=seconds_after_event)


def judged(listing_size: int | None, now: datetime):  # type: ignore[no-untyped-def]
    tarball = obj(KEY, age_s=3600, now=EVENT_TIME, etag="etag1")
    siblings = (
        {}
        if listing_size is None
        else {KEY + ".list.txt": obj(KEY + ".list.txt", listing_size, 3000, now=EVENT_TIME)}
    )
    return tarball, POLICY.judge(tarball, siblings, now)


def test_message_body_is_versioned_json_with_every_field() -> None:
    body = json.loads(message().to_json())
    assert set(body) == {
        "v",
        "bucket",
        "key",
        "etag",
        "size",
        "event_time",
        "attempt",
        "deadline",
        "check_id",
    }
    assert body["v"] == 1
    assert body["attempt"] == 1
    assert body["key"] == KEY
    assert body["deadline"] == "2026-11-22T03:00:00+00:00"


def test_message_round_trips() -> None:
    m = message()
    assert CheckMessage.from_json(m.to_json()) == m
    assert m.next().attempt == 2


def test_check_id_is_deterministic_from_bucket_key_and_etag() -> None:
    assert check_id_of("b", "k", "e") == check_id_of("b", "k", "e")
    assert check_id_of("b", "k", "e") != check_id_of("b", "k", "e2")
    assert check_id_of("b", "k", "e") != check_id_of("b2", "k", "e")
    assert message().check_id == check_id_of("bkt", KEY, "etag1")


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"v": 2}),
        json.dumps({**message().to_dict(), "key": ""}),
        json.dumps({**message().to_dict(), "size": "big"}),
        json.dumps({**message().to_dict(), "deadline": "2026-11-22T03:00:00"}),
        json.dumps({**message().to_dict(), "attempt": 0}),
        json.dumps({**message().to_dict(), "attempt": MAX_ATTEMPTS + 1}),
        json.dumps({**message().to_dict(), "deadline": at(MAX_WINDOW_S + 1).isoformat()}),
        json.dumps({k: v for k, v in message().to_dict().items() if k != "etag"}),
    ],
)
def test_malformed_messages_are_refused(body: str) -> None:
    with pytest.raises(MalformedMessageError):
        CheckMessage.from_json(body)


def test_deadline_is_capped_at_the_longest_window() -> None:
    assert CheckMessage.first(NEW, 10 * MAX_WINDOW_S).deadline == at(MAX_WINDOW_S)


def test_present_listing_passes_and_reports_arrival_seconds() -> None:
    # given a listing written 600 s after its tarball
    _, verdict = judged(200, at(300))
    # when decided
    decision = decide(message(), verdict, at(300))
    # then the check passes and the arrival lag is measured
    assert decision.step is Step.PASSED
    assert decision.arrival_s == 600


def test_absent_listing_before_deadline_is_rescheduled_for_the_time_left() -> None:
    # given 3,300 s left until the deadline
    _, verdict = judged(None, at(300))
    decision = decide(message(), verdict, at(300))
    # then it is sent again after at most 900 s (the SQS limit)
    assert decision.step is Step.RESCHEDULED
    assert decision.delay_s == 900


def test_reschedule_delay_shrinks_to_the_time_left() -> None:
    _, verdict = judged(None, at(3599.5))
    decision = decide(message(attempt=5), verdict, at(3599.5))
    assert decision.step is Step.RESCHEDULED
    assert decision.delay_s == 1


@pytest.mark.parametrize("seconds", [3600, 3601, 86400])
def test_absent_listing_at_or_past_deadline_fails(seconds: int) -> None:
    _, verdict = judged(None, at(seconds))
    assert decide(message(attempt=6), verdict, at(seconds)).step is Step.FAILED


def test_undersized_listing_at_deadline_fails() -> None:
    _, verdict = judged(10, at(3600))
    assert decide(message(), verdict, at(3600)).step is Step.FAILED


def test_attempt_cap_ends_the_loop_even_before_the_deadline() -> None:
    _, verdict = judged(None, at(10))
    assert decide(message(attempt=MAX_ATTEMPTS), verdict, at(10)).step is Step.FAILED


def test_gone_or_rewritten_tarball_is_superseded() -> None:
    _, verdict = judged(None, at(10))
    assert decide(message(), None, at(10)).step is Step.SUPERSEDED
    rewritten = obj(KEY, etag="etag2", now=EVENT_TIME)
    assert decide(message(), replace(verdict, tarball=rewritten), at(10)).step is Step.SUPERSEDED


def test_default_schedule_stays_well_under_lambdas_recursion_limit() -> None:
    # given the default delay (300 s) and deadline (3,600 s)
    config = Config()
    _, verdict = judged(None, at(0))
    hops, now, m = 1, at(config.check_delay_seconds), message(deadline_s=config.check_deadline_seconds)
    # when the listing never arrives
    while (d := decide(m, verdict, now)).step is Step.RESCHEDULED:
        hops, now, m = hops + 1, now + timedelta(seconds=d.delay_s), m.next()
    # then the chain ends in a failure after far fewer than Lambda's ~16 recursive hops
    assert d.step is Step.FAILED
    assert hops <= 6
