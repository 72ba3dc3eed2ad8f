"""The SweepMap state machine in template.yaml: its definition's guarantees and its least privilege."""

from __future__ import annotations

from typing import Any

import pytest

from template_tools import of_type, parameter_values, resolve, template, transformed

TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
STEPS = ("SweepMapPlan", "SweepMapRanges", "SweepMapMerge")


def states() -> dict[str, Any]:
    found: dict[str, Any] = template()["Resources"]["SweepMap"]["Properties"]["Definition"]["States"]
    return found


def statements(role: str, cfn: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cfn = cfn or transformed()
    values = parameter_values()
    policies = cfn["Resources"][role]["Properties"]["Policies"]
    return [resolve(s, values) for p in policies for s in p["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_map_is_distributed_reads_its_items_from_s3_and_tolerates_no_failure() -> None:
    sweep = states()["SweepRanges"]
    assert sweep["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert sweep["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert sweep["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    # moto's interpreter refuses an integer here, and AWS reads 0.0 as 0: a lasting failure fails the run
    assert sweep["ToleratedFailurePercentage"] == 0.0
    assert isinstance(sweep["ToleratedFailurePercentage"], float)
    assert "ItemBatcher" not in sweep  # batches are made by the plan (moto refuses ItemBatcher)
    assert sweep["MaxConcurrencyPath"] == "$.max_concurrency"


def tasks() -> dict[str, dict[str, Any]]:
    every = {**states(), **states()["SweepRanges"]["ItemProcessor"]["States"]}
    return {name: s for name, s in every.items() if s["Type"] == "Task"}


@pytest.mark.parametrize("name", ["Plan", "SweepBatch", "Merge", "Failed"])
def test_every_lambda_step_retries_lambdas_transient_errors_with_backoff(name: str) -> None:
    (retry, *_) = tasks()[name]["Retry"]
    assert set(retry["ErrorEquals"]) >= TRANSIENT
    assert retry["BackoffRate"] > 1
    assert retry["MaxAttempts"] >= 3


def test_a_failure_anywhere_ends_in_the_incomplete_alert_then_a_failed_execution() -> None:
    machine = states()
    for name in ("Plan", "SweepRanges", "Merge"):
        catches = machine[name]["Catch"]
        assert catches[-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}
    assert machine["Failed"]["Next"] == "Incomplete"
    assert machine["Incomplete"] == {**machine["Incomplete"], "Type": "Fail", "Error": "SweepIncomplete"}
    # a breach a manual run asked to fail on is not an incomplete sweep, nor is a refused payload
    assert machine["Merge"]["Catch"][0] == {"ErrorEquals": ["ThresholdBreachedError"], "Next": "Breached"}
    assert machine["Plan"]["Catch"][0] == {"ErrorEquals": ["ConfigError"], "Next": "Refused"}
    assert (machine["Refused"]["Type"], machine["Breached"]["Type"]) == ("Fail", "Fail")


def test_the_state_machine_invokes_only_its_own_three_steps() -> None:
    (invoke,) = [s for s in statements("SweepMapRole") if s["Action"] == "lambda:InvokeFunction"]
    assert invoke["Resource"] == [{"Fn::GetAtt": [step, "Arn"]} for step in STEPS]


def test_the_state_machine_reads_and_writes_only_the_runs_files_and_its_own_executions() -> None:
    found = {s["Sid"]: s for s in statements("SweepMapRole")}
    s3 = found["ReadTheItemsAndWriteTheMapRunsManifest"]
    assert s3["Action"] == [
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
    ]
    assert s3["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${Bucket}/${ReportPrefix}map/*"
    arn = "arn:aws:states:us-east-1:123456789012:KIND:${AWS::StackName}-SweepMap"
    assert found["RunItsOwnChildExecutions"]["Resource"] == arn.replace("KIND", "stateMachine")
    assert found["WatchAndStopItsOwnChildExecutions"]["Resource"] == arn.replace("KIND", "execution") + "/*"
    assert set(found) == {
        "InvokeOnlyItsOwnSteps",
        "ReadTheItemsAndWriteTheMapRunsManifest",
        "RunItsOwnChildExecutions",
        "WatchAndStopItsOwnChildExecutions",
        "DeliverExecutionLogs",
    }


@pytest.mark.parametrize("step", ["SweepMapPlan", "SweepMapRanges"])
def test_the_plan_and_the_children_write_only_the_runs_files(step: str) -> None:
    (put,) = [s for s in statements(f"{step}Role") if "s3:PutObject" in as_list(s["Action"])]
    assert put["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${Bucket}/${ReportPrefix}map/*"


def test_the_merge_lists_and_reads_only_the_runs_files() -> None:
    found = {s["Sid"]: s for s in statements("SweepMapMergeRole")}
    assert found["ListOnlyTheRunsFiles"]["Condition"] == {
        "StringLike": {"s3:prefix": "sibling-sentinel/reports/map/*"}
    }
    assert found["ReadOnlyTheRunsFiles"]["Resource"]["Fn::Sub"][0].endswith("/${ReportPrefix}map/*")


@pytest.mark.parametrize(("engine", "enabled"), [("function", "FullSweep"), ("distributed", "SweepMap")])
def test_the_engine_parameter_chooses_which_one_the_schedule_starts(engine: str, enabled: str) -> None:
    cfn = transformed()
    conditions = {"DistributedEngine": engine == "distributed"}
    rules = {
        name.removesuffix("Nightly"): r["Properties"]
        for name, r in of_type(cfn, "AWS::Events::Rule").items()
        # the optional sampled verification has a schedule of its own (not a sweep engine)
        if "ScheduleExpression" in r["Properties"] and r.get("Condition") != "SampledVerificationOn"
    }
    assert set(rules) == {"FullSweep", "SweepMap"}
    states_ = {}
    for name, rule in rules.items():
        condition, when_true, when_false = rule["State"]["Fn::If"]
        states_[name] = when_true if conditions[condition] else when_false
    assert [n for n, s in states_.items() if s == "ENABLED"] == [enabled]


def test_every_step_and_the_state_machine_log_to_a_group_with_retention() -> None:
    resources = template()["Resources"]
    for step in STEPS:
        group = resources[step]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    logging = resources["SweepMap"]["Properties"]["Logging"]
    (destination,) = logging["Destinations"]
    group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
