import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest

from sibling_sentinel.lambda_edge.events import MalformedEventError, created_objects

from fixtures import event, eventbridge_created, records_created

ODD_KEYS = [
    "backups/h/db dump.tar",
    "backups/h/c++ build.tar.gz",
    "backups/h/literal%2Bpercent.tgz",
    "backups/h/100%.tar",
    "backups/h/résumé.tar.xz",
    "backups/h/a & b <c>.tar",
    "backups/h/" + "k" * 1010 + ".tar",
]


def test_shared_eventbridge_fixture_is_read() -> None:
    (new,) = created_objects(event("eventbridge-object-created.json"))
    assert new.bucket == "demo-backups"
    assert new.key == "backups/beta/db dump+v2 100%.tgz"
    assert new.etag == "9a0364b9e99bb480dd25e1f0284c8555"
    assert new.size == 5000
    assert new.event_time == datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def test_eventbridge_etag_is_read_in_either_spelling_so_the_sweep_finds_its_check() -> None:
    # given the same event as AWS spells it (etag) and as moto spells it (eTag)
    aws = event("eventbridge-object-created.json")
    moto = event("eventbridge-object-created.json")
    moto["detail"]["object"]["eTag"] = moto["detail"]["object"].pop("etag")
    # then both give the object's etag, which names its check
    assert created_objects(aws)[0].etag == created_objects(moto)[0].etag == "9a0364b9e99bb480dd25e1f0284c8555"


def test_shared_records_fixture_decodes_each_key_once() -> None:
    created = created_objects(event("s3-records-object-created.json"))
    assert [c.key for c in created] == [
        "backups/beta/db dump+v2 100%.tgz",
        "backups/beta/db dump+v2 100%.tgz.list.txt",
    ]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_eventbridge_keys_are_raw_and_not_decoded(key: str) -> None:
    # given an EventBridge event carrying the raw key (a literal '+' and '%2B' included)
    # when it is read
    (new,) = created_objects(eventbridge_created("b", key))
    # then the key is exactly the object's key: Powertools' unquote_plus is not applied
    assert new.key == key


@pytest.mark.parametrize("key", ODD_KEYS)
def test_records_keys_are_url_decoded_exactly_once(key: str) -> None:
    # given a classic notification, whose keys S3 URL-encodes with '+' for a space
    (new,) = created_objects(records_created("b", [quote_plus(key, safe="/")]))
    # then decoding once gives back the object's key (a literal %2B stays %2B)
    assert new.key == key


def test_records_other_than_object_created_are_ignored() -> None:
    e = records_created("b", ["backups/h/x.tar"])
    e["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert created_objects(e) == []


def test_s3_test_event_is_ignored() -> None:
    assert created_objects({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}) == []


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"detail-type": "Object Deleted", "source": "aws.s3", "detail": {}},
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "b"}}},
        {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "time": "yesterday",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "k.tar"}},
        },
        {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "time": "2026-11-22T00:00:00",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "k.tar"}},
        },
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]},
        {"Records": "nope"},
    ],
)
def test_malformed_events_fail_with_a_clear_error(bad: dict) -> None:
    with pytest.raises(MalformedEventError):
        created_objects(bad)


def test_records_wrapped_by_sqs_and_sns_are_unwrapped_and_decoded_once() -> None:
    # given the same S3 notification delivered through SQS, SNS, and SNS then SQS (not raw)
    s3_event = records_created("b", ["backups/h/c%2B%2B+build.tar"])
    via_sqs = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(s3_event)}]}
    via_sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(s3_event)}}]}
    envelope = {"Type": "Notification", "Message": json.dumps(s3_event)}
    via_sns_sqs = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(envelope)}]}
    # then each yields the one tarball, with its key decoded exactly once
    for wrapped in (via_sqs, via_sns, via_sns_sqs):
        assert [n.key for n in created_objects(wrapped)] == ["backups/h/c++ build.tar"]


def test_s3_test_event_inside_sqs_is_ignored() -> None:
    wrapped = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps({"Event": "s3:TestEvent"})}]}
    assert created_objects(wrapped) == []


def test_records_from_an_unknown_source_are_refused_not_skipped() -> None:
    with pytest.raises(MalformedEventError, match="aws:kinesis"):
        created_objects({"Records": [{"eventSource": "aws:kinesis"}]})
