"""Both event-path handlers under moto: SQS, SNS, EventBridge, DynamoDB and S3 all in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto.sqs.models import sqs_backends

from sibling_sentinel.lambda_edge import wiring
from sibling_sentinel.lambda_edge.events import MalformedEventError
from sibling_sentinel.lambda_edge.handlers import check_siblings, on_tarball_created

from fixtures import event, eventbridge_created, records_created
from stack import ACCOUNT, BUCKET, REGION, FailWith, LambdaContext, Stack, emf, message_for, sqs_event

ODD_KEYS = [
    "backups/h/db dump.tar",
    "backups/h/c++ build.tar.gz",
    "backups/h/literal%2Bpercent.tgz",
    "backups/h/résumé & <notes>.tar.xz",
]


# --- OnTarballCreated ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ODD_KEYS)
def test_eventbridge_event_queues_a_delayed_check_for_the_raw_key(stack: Stack, key: str) -> None:
    # given an EventBridge Object Created event for a tarball with an odd name
    e = eventbridge_created(BUCKET, key, etag="abc")
    # when the created handler runs
    result = on_tarball_created.handler(e, LambdaContext("OnTarballCreated"))
    # then one check is queued for exactly that key, with the configured delay and a versioned body
    assert result == {"queued": 1, "skipped": 0}
    ((body, delay),) = stack.queued()
    assert body["key"] == key
    assert body["v"] == 1
    assert body["attempt"] == 1
    assert delay == 300


def test_records_event_queues_decoded_keys_in_batches(stack: Stack) -> None:
    # given 23 URL-encoded records (more than two SendMessageBatch calls), one of them not a tarball
    keys = [f"backups/h/db+dump+{i:02d}.tar.zst" for i in range(22)] + ["backups/h/x.tar.list.txt"]
    # when the created handler runs
    result = on_tarball_created.handler(records_created(BUCKET, keys), LambdaContext("OnTarballCreated"))
    # then every tarball is queued once, decoded once
    assert result == {"queued": 22, "skipped": 1}
    assert sorted(b["key"] for b, _ in stack.queued()) == [
        f"backups/h/db dump {i:02d}.tar.zst" for i in range(22)
    ]


def test_malformed_created_event_fails_the_invocation(stack: Stack) -> None:
    with pytest.raises(MalformedEventError):
        on_tarball_created.handler({"hello": "world"}, LambdaContext("OnTarballCreated"))
    assert stack.queued() == []


# --- CheckSiblings ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["records", "eventbridge"])
@pytest.mark.parametrize("key", ODD_KEYS)
def test_check_finds_the_right_object_for_odd_keys(
    stack: Stack, key: str, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an odd-named tarball whose listing is there, announced in either event shape
    etag = stack.put(key)
    stack.put(key + ".list.txt", 300)
    created = (
        records_created(BUCKET, [_encode(key)], etag=etag)
        if shape == "records"
        else eventbridge_created(BUCKET, key, etag=etag)
    )
    on_tarball_created.handler(created, LambdaContext("OnTarballCreated"))
    ((body, _),) = stack.queued()
    # when the check runs on the queued message
    response = check_siblings.handler(sqs_event(json.dumps(body)), LambdaContext())
    # then it found that very tarball and its listing (a wrong key would be "superseded"): passed, in EMF
    assert response == {"batchItemFailures": []}
    metrics = emf(capsys.readouterr().out)
    assert metrics["SiblingCheckPassed"] in ([1.0], 1.0)
    assert "SiblingArrivalSeconds" in metrics
    assert "SiblingCheckSuperseded" not in metrics


def _encode(key: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(key, safe="/")


def test_check_without_listing_before_deadline_requeues_with_next_attempt(stack: Stack) -> None:
    etag = stack.put("backups/h/a.tar")
    m = message_for(stack, "backups/h/a.tar", etag, event_age_s=300)
    check_siblings.handler(sqs_event(m.to_json()), LambdaContext())
    ((body, delay),) = stack.queued()
    assert body["attempt"] == 2
    assert body["check_id"] == m.check_id
    assert 890 <= delay <= 900


def test_check_past_deadline_emits_metric_event_and_one_alert(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tarball whose listing never came, checked past its deadline
    etag = stack.put("backups/h/never.tar")
    m = message_for(stack, "backups/h/never.tar", etag, event_age_s=7200)
    # when checked
    response = check_siblings.handler(sqs_event(m.to_json()), LambdaContext())
    # then: a SiblingCheckFailed metric, a Sibling Check Failed event, and one SNS alert
    assert response == {"batchItemFailures": []}
    assert "SiblingCheckFailed" in emf(capsys.readouterr().out)
    (evt,) = stack.drain(stack.events_url)
    assert evt["detail-type"] == "Sibling Check Failed"
    assert evt["source"] == "sibling-sentinel"
    assert evt["detail"]["key"] == "backups/h/never.tar"
    assert evt["detail"]["verdict"] == "missing"
    alerts = stack.alerts()
    assert len(alerts) == 1
    assert "Expected sibling: s3://backups-bucket/backups/h/never.tar.list.txt" in alerts[0]["Body"]
    assert stack.queued() == []


def test_duplicate_event_does_not_start_two_alert_chains(stack: Stack) -> None:
    # given the same upload announced twice (S3 and EventBridge deliver at least once)
    etag = stack.put("backups/h/dup.tar")
    late = eventbridge_created(
        BUCKET, "backups/h/dup.tar", etag=etag, time=(datetime.now(UTC) - timedelta(hours=2)).isoformat()
    )
    on_tarball_created.handler(late, LambdaContext("OnTarballCreated"))
    on_tarball_created.handler(late, LambdaContext("OnTarballCreated"))
    bodies = [json.dumps(b) for b, _ in stack.queued()]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    # when both messages are checked, in one batch and again in a redelivery
    assert check_siblings.handler(sqs_event(*bodies), LambdaContext()) == {"batchItemFailures": []}
    check_siblings.handler(sqs_event(bodies[0]), LambdaContext())
    # then exactly one alert and one event went out
    alerts = stack.alerts()
    assert len(alerts) == 1
    assert len(stack.drain(stack.events_url)) == 1


def test_duplicate_messages_before_the_deadline_requeue_once(stack: Stack) -> None:
    # given a young upload announced twice: both copies would reschedule
    etag = stack.put("backups/h/young.tar")
    created = eventbridge_created(
        BUCKET, "backups/h/young.tar", etag=etag, time=datetime.now(UTC).isoformat()
    )
    on_tarball_created.handler(created, LambdaContext("OnTarballCreated"))
    on_tarball_created.handler(created, LambdaContext("OnTarballCreated"))
    bodies = [json.dumps(b) for b, _ in stack.queued()]
    sqs_backends[ACCOUNT][REGION].queues["checks"]._messages.clear()
    # when both copies are checked
    check_siblings.handler(sqs_event(*bodies), LambdaContext())
    # then only one goes on: one chain, attempt 2
    assert [b["attempt"] for b, _ in stack.queued()] == [2]


def test_poison_message_fails_alone_and_the_rest_of_the_batch_succeeds(stack: Stack) -> None:
    # given the shared fixture batch: one valid message (etag differs, so superseded) and one poison body
    stack.s3.create_bucket(Bucket="demo-backups")
    stack.s3.put_object(Bucket="demo-backups", Key="backups/beta/db dump+v2 100%.tgz", Body=b"new")
    batch = event("sqs-check-batch.json")
    # when checked
    response = check_siblings.handler(batch, LambdaContext())
    # then only the poison message is reported failed, so SQS redrives it toward the DLQ
    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}


def test_a_batch_where_every_message_fails_is_retried_whole(stack: Stack) -> None:
    with pytest.raises(BatchProcessingError):
        check_siblings.handler(sqs_event("{}", "not json"), LambdaContext())


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (403, "AccessDenied")])
def test_throttling_and_access_denied_fail_the_item_without_alerting(
    stack: Stack, status: int, code: str, capsys: pytest.CaptureFixture[str], fail_with: FailWith
) -> None:
    # given a tarball past its deadline, and S3 answering its read with throttling or 403
    etag = stack.put("backups/h/t.tar")
    ok = message_for(stack, "backups/h/t.tar", etag, event_age_s=7200)
    fail_with(status, code, "ListObjectsV2")
    # when checked (it is the only message, so the whole batch fails and is retried)
    with pytest.raises(BatchProcessingError):
        check_siblings.handler(sqs_event(ok.to_json()), LambdaContext())
    # then no alert and no event: an error is never a missing sibling
    assert stack.alerts() == []
    assert stack.drain(stack.events_url) == []
    assert "SiblingCheckFailed" not in capsys.readouterr().out


def test_a_throttled_item_fails_alone_beside_one_that_passes(stack: Stack, fail_with: FailWith) -> None:
    # given two tarballs: one whose read is throttled, one with its listing present
    throttled = message_for(stack, "backups/h/slow.tar", stack.put("backups/h/slow.tar"), event_age_s=7200)
    good_etag = stack.put("backups/h/fine.tar")
    stack.put("backups/h/fine.tar.list.txt", 300)
    good = message_for(stack, "backups/h/fine.tar", good_etag, event_age_s=7200)
    fail_with(503, "SlowDown", "ListObjectsV2", only="slow.tar")
    # when both are checked in one batch
    response = check_siblings.handler(sqs_event(throttled.to_json(), good.to_json()), LambdaContext())
    # then only the throttled one is reported failed (SQS retries it), and nobody is paged
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert stack.alerts() == []


def test_failed_step_can_run_again_after_the_error_clears(stack: Stack, fail_with: FailWith) -> None:
    # given a check that failed on throttling
    etag = stack.put("backups/h/r.tar")
    m = message_for(stack, "backups/h/r.tar", etag, event_age_s=7200)
    fail_with(503, "SlowDown", "ListObjectsV2")
    with pytest.raises(BatchProcessingError):
        check_siblings.handler(sqs_event(m.to_json()), LambdaContext())
    # when SQS redelivers it after S3 recovered
    boto3.setup_default_session()
    wiring.checker.cache_clear()
    check_siblings.handler(sqs_event(m.to_json()), LambdaContext())
    # then the idempotency record did not swallow the retry: the alert went out
    assert len(stack.alerts()) == 1


def test_check_with_the_manifest_rule_alerts_an_invalid_manifest_at_the_deadline(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given MANIFEST_RULE=required and a tarball whose listing is fine but whose manifest lacks a producer
    monkeypatch.setenv("MANIFEST_RULE", "required")
    wiring.checker.cache_clear()
    etag = stack.put("backups/h/snap.tgz")
    stack.put("backups/h/snap.tgz.list.txt", 300)
    body = {"schema_version": 1, "corpus_format_version": 3, "created_at": "2026-11-20T00:00:00Z"}
    body["archive"] = {"relative_path": "snap.tgz"}
    stack.s3.put_object(Bucket=BUCKET, Key="backups/h/snap.manifest.json", Body=json.dumps(body).encode())
    # when CheckSiblings checks it past its deadline
    m = message_for(stack, "backups/h/snap.tgz", etag, event_age_s=7200)
    check_siblings.handler(sqs_event(m.to_json()), LambdaContext())
    # then the failure event says invalid, with the reason, for the manifest sibling
    (evt,) = stack.drain(stack.events_url)
    assert evt["detail"]["verdict"] == "invalid"
    [sibling] = evt["detail"]["siblings"]
    assert sibling["sibling"] == "backups/h/snap.manifest.json"
    assert "producer must be an object" in sibling["reason"]
