"""Fleet health under moto: the event path's records, the previous run's report, FullSweep's handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from sibling_sentinel.adapters.once import DynamoCheckRecords
from sibling_sentinel.adapters.reports import S3RunHistory
from sibling_sentinel.cli.demo import backdate
from sibling_sentinel.domain.event_path.check import check_id_of
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.errors import StorageError, ThrottledError
from sibling_sentinel.lambda_edge.handlers import check_siblings, full_sweep, on_tarball_created

from fixtures import event, eventbridge_created
from stack import BUCKET, REPORTS, LambdaContext, Stack, emf, sqs_event

HOUR = 3600
NOW = datetime.now(UTC)
POINTER = "sibling-sentinel/reports/latest.json"


def nightly() -> dict[str, object]:
    return event("eventbridge-scheduled.json")


def backup(stack: Stack, host: str, name: str, age_s: int) -> tuple[str, str]:
    key = f"backups/{host}/{name}.tar"
    etag = stack.put(key)
    stack.put(key + ".list.txt", 300)
    backdate(BUCKET, {key: age_s, key + ".list.txt": age_s}, NOW)
    return key, etag


def last_night(
    stack: Stack, hours_ago: float = 12, measured: bool = True, hosts: tuple[str, ...] = ()
) -> None:
    """A previous complete sweep's report, and the pointer that names it, as FullSweep leaves them."""
    report = Report(BUCKET, "backups/", 0, started_at=NOW - timedelta(hours=hours_ago))
    report.tarballs_not_checked = 0 if measured else None
    report.hosts_vanished = list(hosts)
    key = "sibling-sentinel/reports/last-night.json"
    stack.s3.put_object(Bucket=REPORTS, Key=key, Body=report.to_json())
    S3RunHistory(stack.s3, REPORTS, "sibling-sentinel/reports/").remember(f"s3://{REPORTS}/{key}", report)


def through_the_event_path(stack: Stack, key: str, etag: str) -> None:
    """OnTarballCreated for the upload, then CheckSiblings on the message it queued."""
    on_tarball_created.handler(eventbridge_created(BUCKET, key, etag=etag), LambdaContext("OnTarballCreated"))
    (queued,) = [body for body, _ in stack.queued() if body["key"] == key]
    result = check_siblings.handler(sqs_event(json.dumps(queued)), LambdaContext("CheckSiblings"))
    assert result == {"batchItemFailures": []}


def test_an_upload_the_event_path_never_saw_is_counted_by_the_nightly_sweep(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # given two uploads ten hours ago: one went through the real event path, the other never did
    seen, seen_etag = backup(stack, "h1", "seen", 10 * HOUR)
    unseen, _ = backup(stack, "h1", "unseen", 10 * HOUR)
    through_the_event_path(stack, seen, seen_etag)
    last_night(stack)
    capsys.readouterr()
    # when the nightly sweep runs
    result = full_sweep.handler(nightly(), LambdaContext("FullSweep", aws_request_id="night-1-x"))
    # then the unseen upload alone is not checked: in the result, the metric and the alert
    assert result["tarballs_not_checked"] == 1
    assert emf(capsys.readouterr().out)["TarballsNotChecked"] in ([1.0], 1.0)
    (alert,) = stack.alerts()
    assert f"s3://{BUCKET}/{unseen}" in alert["Body"]
    assert f"s3://{BUCKET}/{seen}" not in alert["Body"]
    assert alert["MessageAttributes"]["kind"]["StringValue"] == "sweep-breach"


def test_a_host_gone_since_last_night_is_vanished_in_the_next_report(stack: Stack) -> None:
    # given last night's sweep saw h1 and h2, each checked by the event path
    for host in ("h1", "h2"):
        key, _ = backup(stack, host, "a", 10 * HOUR)
        stack.checked(key)
    first = full_sweep.handler(nightly(), LambdaContext("FullSweep", aws_request_id="night-1-x"))
    assert first["breach"] is False
    # when h2's folder is deleted and the sweep runs again
    stack.s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "backups/h2/a.tar"}, {"Key": "backups/h2/a.tar.list.txt"}]}
    )
    second = full_sweep.handler(nightly(), LambdaContext("FullSweep", aws_request_id="night-2-x"))
    # then h2 has vanished, the report says so and names the previous report, and the alert says it is new
    assert second["hosts_vanished"] == ["h2"]
    _, _, key = second["report"].removeprefix("s3://").partition("/")
    body = json.loads(stack.s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())
    assert body["hosts_vanished"] == ["h2"]
    assert body["previous_report"] == first["report"]
    (alert,) = stack.alerts()
    assert "VANISHED: host h2" in alert["Body"]
    assert "hosts vanished: new h2" in alert["Body"]


def test_the_first_sweep_sets_the_event_paths_baseline(stack: Stack) -> None:
    # given an upload from before the stack existed, and no previous run
    backup(stack, "h1", "older", 10 * HOUR)
    # when the first sweep runs, then it measures nothing about the event path (and pages nobody)
    result = full_sweep.handler(nightly(), LambdaContext("FullSweep"))
    assert result["tarballs_not_checked"] is None
    assert stack.alerts() == []


def test_an_empty_watched_prefix_breaches_in_the_handler(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # given nothing under the watched prefix
    # when the nightly sweep runs
    result = full_sweep.handler(nightly(), LambdaContext("FullSweep"))
    # then it breaches with coverage 0 and the reason in the alert
    assert result["volume_breach"] is True
    metrics = emf(capsys.readouterr().out)
    assert metrics["CoveragePercent"] in ([0.0], 0.0)
    (alert,) = stack.alerts()
    assert "TOO FEW TARBALLS: 0" in alert["Body"]


def test_check_records_are_read_in_batches_of_one_hundred(stack: Stack) -> None:
    # given 250 uploads, the event path having recorded every third one
    ids = [check_id_of(BUCKET, f"backups/h/{i}.tar", "e") for i in range(250)]
    ddb = boto3.client("dynamodb")
    from sibling_sentinel.adapters.once import record_id

    for check_id in ids[::3]:
        ddb.put_item(TableName="checks-once", Item={"id": {"S": record_id(check_id)}})
    # when they are asked about
    seen = DynamoCheckRecords(ddb, "checks-once").seen(ids)
    # then exactly the recorded ones are seen
    assert seen == set(ids[::3])


def test_check_records_still_unprocessed_after_retries_are_an_error() -> None:
    # given a table that never processes the keys
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    stub = Stubber(ddb)
    for _ in range(8):
        stub.add_response(
            "batch_get_item",
            {"Responses": {"t": []}, "UnprocessedKeys": {"t": {"Keys": [{"id": {"S": "x"}}]}}},
        )
    # when the records are read, then it is an error, never "not seen"
    with stub, pytest.raises(ThrottledError, match="still unprocessed"):
        DynamoCheckRecords(ddb, "t").seen(["c1"])


def test_run_history_is_none_before_the_first_sweep_and_reads_back_what_it_remembers(stack: Stack) -> None:
    history = S3RunHistory(stack.s3, REPORTS, "sibling-sentinel/reports/")
    assert history.previous() is None
    report = Report(BUCKET, "backups/", 0, started_at=NOW - timedelta(days=1))
    stack.s3.put_object(Bucket=REPORTS, Key="sibling-sentinel/reports/r1.json", Body=report.to_json())
    history.remember(f"s3://{REPORTS}/sibling-sentinel/reports/r1.json", report)
    previous = history.previous()
    assert previous is not None
    assert previous.uri == f"s3://{REPORTS}/sibling-sentinel/reports/r1.json"
    assert previous.started_at == report.started_at.replace(microsecond=previous.started_at.microsecond)


def test_a_pointer_to_a_report_that_is_gone_is_no_previous_run(stack: Stack) -> None:
    stack.s3.put_object(
        Bucket=REPORTS, Key=POINTER, Body=json.dumps({"report": "sibling-sentinel/reports/x.json"})
    )
    assert S3RunHistory(stack.s3, REPORTS, "sibling-sentinel/reports/").previous() is None


def test_an_unreadable_previous_report_is_an_error(stack: Stack) -> None:
    stack.s3.put_object(Bucket=REPORTS, Key=POINTER, Body=b"not json")
    with pytest.raises(StorageError, match="is not JSON"):
        S3RunHistory(stack.s3, REPORTS, "sibling-sentinel/reports/").previous()
