"""The SweepMap state machine of template.yaml, run on moto's ASL interpreter (ported from LocalStack).

The interpreter calls Lambda through boto3; moto would run the functions in Docker, which is absent, so a
`before-call` hook on Lambda `Invoke` runs the real handlers in this process, and can make one fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

import boto3
import pytest
from moto.core.config import default_user_config
from test_s3_adapter import BUCKET as AWKWARD
from test_s3_adapter import awkward_bucket

from sfn_local import Lambdas, definition, throttled
from sibling_sentinel.errors import StorageError
from sibling_sentinel.lambda_edge import wiring
from sibling_sentinel.lambda_edge.handlers import full_sweep

from stack import ACCOUNT, REPORTS, LambdaContext, Stack, emf

TIMINGS = ("started_at", "duration_s")


@dataclass
class Machine:
    stack: Stack
    sfn: Any
    arn: str
    lambdas: Lambdas

    def run(self, payload: dict[str, Any], name: str = "manual-1") -> dict[str, Any]:
        started = self.sfn.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(payload))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            execution = self.sfn.describe_execution(executionArn=started["executionArn"])
            if execution["status"] != "RUNNING":
                return dict(execution)
            time.sleep(0.05)
        raise AssertionError("the execution did not end in 120 s")

    def report(self, uri: str) -> dict[str, Any]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body: dict[str, Any] = json.loads(self.stack.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return body

    def reports(self) -> list[str]:
        """The JSON reports (each has its HTML page beside it)."""
        listed = self.stack.s3.list_objects_v2(Bucket=REPORTS, Prefix="sibling-sentinel/reports/2")
        return [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".json")]


@pytest.fixture
def machine(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    monkeypatch.setenv("GRACE_SECONDS", "0")  # every tarball is judged, none pending
    monkeypatch.setenv("BACKUP_BUCKET", AWKWARD)  # the bucket `awkward_bucket` fills
    stack.s3.create_bucket(Bucket=AWKWARD)
    monkeypatch.setenv("SWEEP_CONCURRENCY", "3")
    monkeypatch.setenv("SWEEP_MAP_BATCH_RANGES", "1")
    wiring.sweep_map.cache_clear()
    lambdas = Lambdas()
    with patch.dict(default_user_config, {"stepfunctions": {"execute_state_machine": True}}):
        boto3.DEFAULT_SESSION.events.register("before-call.lambda.Invoke", lambdas)  # type: ignore[union-attr]
        sfn = boto3.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="SweepMap", definition=definition(REPORTS), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sweep-map"
        )["stateMachineArn"]
        yield Machine(stack, sfn, arn, lambdas)
    boto3.setup_default_session()
    wiring.sweep_map.cache_clear()


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in report.items() if k not in TIMINGS}
    kept["findings"] = sorted(report["findings"], key=lambda f: (f["key"], f["rule"]))
    return kept


def function_report(machine: Machine) -> dict[str, Any]:
    """The single function's nightly report; what it published is drained, so tests see the machine's."""
    result = full_sweep.handler({"trigger": "schedule"}, LambdaContext("FullSweep", "fn-run-1"))
    machine.stack.drain(machine.stack.events_url)
    machine.stack.alerts()
    report = machine.report(result["report"])
    machine.stack.s3.delete_object(Bucket=REPORTS, Key=result["report"].split(REPORTS + "/")[1])
    return report


@pytest.mark.parametrize("group_depth", ["1", "2"])
def test_many_ranges_report_exactly_what_the_single_function_does(
    machine: Machine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, group_depth: str
) -> None:
    # given the awkward keys (spaces, '+', '%', unicode, '&<>', 1024 bytes, folders of folders, orphans)
    monkeypatch.setenv("GROUP_DEPTH", group_depth)
    awkward_bucket(machine.stack.s3)
    flat = function_report(machine)
    capsys.readouterr()
    # when the nightly schedule starts the state machine
    execution = machine.run({"trigger": "schedule"}, name="nightly-1")
    # then it succeeds through many children, and its report is the function's, timings apart
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert len(set(machine.lambdas.items())) >= 5
    assert without_timings(machine.report(output["report"])) == without_timings(flat)
    assert flat["counts"]["missing"]
    assert flat["counts"]["orphan"]
    # and it published as FullSweep does: the heartbeat once, one event, one alert for the breach
    metrics = emf(capsys.readouterr().out)
    assert metrics["SweepCompleted"] in ([1.0], 1.0)
    assert [e["detail-type"] for e in machine.stack.drain(machine.stack.events_url)] == ["Sweep Completed"]
    assert [a["MessageAttributes"]["kind"]["StringValue"] for a in machine.stack.alerts()] == ["sweep-breach"]


def test_a_child_that_fails_once_is_retried_and_the_report_stays_exact(machine: Machine) -> None:
    # given the awkward keys, and Lambda throttling the second child's first invoke
    awkward_bucket(machine.stack.s3)
    flat = function_report(machine)
    machine.lambdas.fault = lambda name, p, n: (
        throttled() if name == "ranges" and p["index"] == 1 and n == 1 else None
    )
    # when the state machine runs
    execution = machine.run({"trigger": "schedule"})
    # then that child ran twice, the run succeeded, and the report is still exactly the function's
    assert execution["status"] == "SUCCEEDED", execution
    assert machine.lambdas.items().count(1) == 2
    report = machine.report(json.loads(execution["output"])["report"])
    assert without_timings(report) == without_timings(flat)


def test_a_child_that_always_fails_gives_sweep_incomplete_and_no_heartbeat(
    machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a bucket where one child's listing always fails
    awkward_bucket(machine.stack.s3)
    machine.lambdas.fault = lambda name, p, n: (
        StorageError("S3 said 500") if name == "ranges" and p["index"] == 0 else None
    )
    # when the state machine runs
    execution = machine.run({"trigger": "schedule"})
    # then the execution fails as incomplete, with one sweep-incomplete alert naming the run
    assert (execution["status"], execution.get("error")) == ("FAILED", "SweepIncomplete")
    (alert,) = machine.stack.alerts()
    assert alert["MessageAttributes"]["kind"]["StringValue"] == "sweep-incomplete"
    assert "manual-1" in alert["Body"]
    assert "NOT a pass" in alert["Body"]
    # and no report, no event, no heartbeat went out
    assert machine.reports() == []
    assert machine.stack.drain(machine.stack.events_url) == []
    out = capsys.readouterr().out
    metrics = emf(out)
    assert "SweepCompleted" not in metrics
    assert metrics["SweepIncomplete"] in ([1.0], 1.0)


def test_a_merge_run_twice_for_one_execution_publishes_nothing_twice(
    machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a merge whose answer is lost after it published (Lambda throttles the reply), so it is retried
    awkward_bucket(machine.stack.s3)
    machine.lambdas.after = lambda name, p, n: throttled() if name == "merge" and n == 1 else None
    # when the state machine runs
    execution = machine.run({"trigger": "schedule"})
    # then the retried merge found the report written and published nothing more
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["duplicate"] is True
    assert len(machine.reports()) == 1
    assert len(machine.stack.drain(machine.stack.events_url)) == 1
    assert len(machine.stack.alerts()) == 1
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert sum(1 for b in blobs if "SweepCompleted" in b) == 1


def test_a_dry_run_payload_is_the_functions_and_writes_no_report(machine: Machine) -> None:
    # given the awkward keys
    awkward_bucket(machine.stack.s3)
    # when a person starts the state machine with FullSweep's own manual payload
    execution = machine.run({"dry_run": True, "prefix": "backups/beta"})
    # then it answers the summary of that sub-prefix, and nothing was written, sent or alerted
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert (output["dry_run"], output["report"], output["prefix"]) == (True, None, "backups/beta/")
    assert output["counts"]["tarballs"] > 0
    assert machine.reports() == []
    assert machine.stack.alerts() == []


def test_a_payload_outside_the_watched_prefix_is_refused_as_the_function_refuses_it(machine: Machine) -> None:
    # given a manual payload for a prefix the functions may not list
    awkward_bucket(machine.stack.s3)
    # when the state machine is started with it
    execution = machine.run({"prefix": "elsewhere/"})
    # then the execution fails with the ConfigError, and no alert, report or child ran
    assert (execution["status"], execution.get("error")) == ("FAILED", "ConfigError")
    assert machine.stack.alerts() == []
    assert machine.reports() == []
    assert machine.lambdas.items() == []
