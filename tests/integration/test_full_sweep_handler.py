"""FullSweep's handler under moto: the report in S3, EMF on stdout, the event and the alert delivered."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import boto3
import pytest

from sibling_sentinel.cli.demo import backdate
from sibling_sentinel.domain.sweep.full_sweep import ThresholdBreachedError
from sibling_sentinel.errors import AccessDeniedError, ConfigError
from sibling_sentinel.lambda_edge.handlers import full_sweep

from fixtures import event
from stack import BUCKET, REPORTS, FailWith, LambdaContext, Stack, emf

SWEEP = "FullSweep"
NOW = datetime.now(UTC)


def seed_breach(stack: Stack) -> None:
    stack.put("backups/h1/a.tar")
    stack.put("backups/h1/a.tar.list.txt", 300)
    stack.put("backups/h2/b.tar")  # its listing never came
    day = 86400
    backdate(
        BUCKET, dict.fromkeys(["backups/h1/a.tar", "backups/h1/a.tar.list.txt", "backups/h2/b.tar"], day), NOW
    )
    stack.checked("backups/h1/a.tar", "backups/h2/b.tar")


def test_nightly_breach_is_reported_everywhere_and_does_not_raise(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # given one host with a missing listing (so h2 has no complete backup: overdue too)
    seed_breach(stack)
    # when the schedule fires
    result = full_sweep.handler(
        event("eventbridge-scheduled.json"), LambdaContext(SWEEP, aws_request_id="abcdef12-x")
    )
    # then it returns the summary (a scheduled run never raises on a breach)
    assert (result["complete"], result["problems"], result["breach"]) == (True, 2, True)
    assert result["hosts_overdue"] == ["h2"]
    assert result["tarballs_not_checked"] is None  # a first sweep: the event path's baseline
    # and the JSON report is in the report bucket under its dated key
    bucket, _, key = result["report"].removeprefix("s3://").partition("/")
    assert bucket == REPORTS
    assert key.startswith("sibling-sentinel/reports/")
    assert key.endswith("-abcdef12.json")
    body = json.loads(stack.s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())
    assert body["findings"][0]["key"] == "backups/h2/b.tar"
    # and the sweep metrics, heartbeat included, went out as EMF
    metrics = emf(capsys.readouterr().out)
    assert metrics["SweepCompleted"] in ([1.0], 1.0)
    assert metrics["SiblingsMissing"] in ([1.0], 1.0)
    assert metrics["TarballsScanned"] in ([2.0], 2.0)
    # and one "Sweep Completed" event reached the bus
    (put,) = stack.drain(stack.events_url)
    assert put["detail-type"] == "Sweep Completed"
    assert put["detail"]["report"] == result["report"]
    # and one alert for a person, filterable by kind
    (alert,) = stack.alerts()
    assert alert["MessageAttributes"]["kind"]["StringValue"] == "sweep-breach"
    assert "s3://backups-bucket/backups/h2/b.tar" in alert["Body"]
    assert result["report"] in alert["Body"]


def test_manual_run_with_fail_on_breach_raises_after_reporting(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_breach(stack)
    with pytest.raises(ThresholdBreachedError, match="2 problems > threshold 0"):
        full_sweep.handler({"fail_on_breach": True}, LambdaContext(SWEEP))
    # the metrics were still flushed and the alert still sent
    assert "SweepCompleted" in emf(capsys.readouterr().out)
    assert len(stack.alerts()) == 1


def full_sweep_function() -> str:
    """FullSweep as Lambda knows it, so that it can invoke itself (moto records the call; nothing runs)."""
    role = boto3.client("iam").create_role(RoleName="sweep", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("h.py", "def handler(event, context):\n    return event\n")
    created = boto3.client("lambda").create_function(
        FunctionName=SWEEP,
        Runtime="python3.12",
        Role=role,
        Handler="h.handler",
        Code={"ZipFile": code.getvalue()},
    )
    return str(created["FunctionArn"])


def test_sweep_short_of_time_carries_on_from_a_checkpoint_and_reports_once(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a function with less time left than the safety margin
    seed_breach(stack)
    full_sweep_function()
    # when it sweeps
    paused = full_sweep.handler({"trigger": "schedule"}, LambdaContext(SWEEP, remaining_ms=20_000))
    # then it wrote a checkpoint under the report prefix and asked for a new invocation; nothing reported
    assert paused["continued"] is True
    checkpoint = stack.s3.get_object(Bucket=REPORTS, Key=paused["checkpoint"])["Body"].read()
    assert json.loads(checkpoint.splitlines()[0])["run_id"] == paused["run_id"]
    first = emf(capsys.readouterr().out)
    assert "SweepCompleted" not in first
    assert first["SweepContinued"] in ([1.0], 1.0)
    assert stack.alerts() == []
    # when the next invocation carries on with the whole time budget
    done = full_sweep.handler({"checkpoint": paused["checkpoint"]}, LambdaContext(SWEEP))
    # then the one report is complete, the checkpoint is gone, and the run reported once
    assert done["complete"] is True
    assert done["run_id"] == paused["run_id"]
    assert done["invocations"] == 2
    keys = [o["Key"] for o in stack.s3.list_objects_v2(Bucket=REPORTS)["Contents"]]
    keys.remove("sibling-sentinel/reports/latest.json")  # the next run's previous one
    pages = [done["report_html"].removeprefix(f"s3://{REPORTS}/"), "sibling-sentinel/reports/history.json"]
    assert sorted(keys) == sorted([done["report"].removeprefix(f"s3://{REPORTS}/"), *pages])
    assert emf(capsys.readouterr().out)["SweepCompleted"] in ([1.0], 1.0)
    assert len(stack.alerts()) == 1


def test_access_denied_is_an_error_with_nothing_reported(
    stack: Stack, capsys: pytest.CaptureFixture[str], fail_with: FailWith
) -> None:
    # given S3 refuses the listing
    seed_breach(stack)
    fail_with(403, "AccessDenied", "ListObjectsV2")
    # when the nightly sweep runs
    with pytest.raises(AccessDeniedError, match="AccessDenied"):
        full_sweep.handler(event("full-sweep-scheduled.json"), LambdaContext(SWEEP))
    # then no report, no event, no alert, and no heartbeat: the dead-man alarm will notice
    assert stack.s3.list_objects_v2(Bucket=REPORTS).get("Contents", []) == []
    assert stack.drain(stack.events_url) == []
    assert stack.alerts() == []
    assert "SweepCompleted" not in capsys.readouterr().out


def test_malformed_payload_is_refused_by_name(stack: Stack) -> None:
    with pytest.raises(ConfigError, match="unknown sweep payload field"):
        full_sweep.handler({"prefixx": "backups/"}, LambdaContext(SWEEP))


def test_sample_manual_event_is_a_dry_run_that_touches_nothing(stack: Stack) -> None:
    seed_breach(stack)
    with pytest.raises(ThresholdBreachedError):
        full_sweep.handler(event("full-sweep-manual.json"), LambdaContext(SWEEP))
    assert stack.s3.list_objects_v2(Bucket=REPORTS).get("Contents", []) == []
    assert stack.alerts() == []


def test_nightly_run_writes_the_html_report_and_the_alert_points_to_it(stack: Stack) -> None:
    # given one host with a missing listing
    seed_breach(stack)

    # when the schedule fires
    result = full_sweep.handler(
        event("eventbridge-scheduled.json"), LambdaContext(SWEEP, aws_request_id="abcdef12-x")
    )

    # then the HTML report is beside the JSON one, as HTML, with the broken host in its calendar
    page_uri = result["report_html"]
    assert page_uri == result["report"].removesuffix(".json") + ".html"
    bucket, _, key = page_uri.removeprefix("s3://").partition("/")
    page = stack.s3.get_object(Bucket=bucket, Key=key)
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert 'data-host="h2"' in page["Body"].read().decode("utf-8")
    # and the run history holds this run, with its problems: the missing listing, and h2 overdue (its
    # only backup is not complete)
    history = json.loads(
        stack.s3.get_object(Bucket=REPORTS, Key="sibling-sentinel/reports/history.json")["Body"].read()
    )
    assert [run["problems"] for run in history["runs"]] == [result["problems"]] == [2]
    # and the alert says where the page is
    (alert,) = stack.alerts()
    assert f"HTML report (backup calendar, worst hosts, findings): {page_uri}" in alert["Body"]
    assert "https://s3.console.aws.amazon.com/s3/object/" in alert["Body"]
