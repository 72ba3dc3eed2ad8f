"""What template.yaml promises: its parameters, wiring, alarms, IAM scope, and agreement with the code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from sibling_sentinel.config import _SOURCES, Config
from sibling_sentinel.domain.core.tarballs import DEFAULT_EXTENSIONS
from sibling_sentinel.errors import ConfigError
from sibling_sentinel.lambda_edge.events import upload_pattern as upload_pattern_of
from sibling_sentinel.lambda_edge.verify_config import VARIABLES as SAMPLING_VARIABLES
from template_tools import ROOT, functions, of_type, parameter_values, resolve, template, transformed

from fixtures import eventbridge_created

# Read by libraries, not by our code: Powertools reads its log level itself.
READ_BY_LIBRARIES = {"POWERTOOLS_LOG_LEVEL"}
# Read by our code outside Config: observability() names the service and the metric namespace, and
# SamplingConfig the sampled verification's own settings.
READ_OUTSIDE_CONFIG = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", *SAMPLING_VARIABLES}


def env_of(fn: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = fn["Properties"].get("Environment", {}).get("Variables", {})
    return variables


def role_statements(cfn: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement a role can hold: both branches of a conditional one (`Fn::If`)."""
    return [
        branch
        for role in of_type(cfn, "AWS::IAM::Role").values()
        for policy in role["Properties"].get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
        for branch in (s["Fn::If"][1:] if set(s) == {"Fn::If"} else [s])
        if branch != {"Ref": "AWS::NoValue"}
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Step Functions' vended log delivery: these actions take no resource narrower than "*" (AWS's own rule).
LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def is_log_delivery(statement: dict[str, Any]) -> bool:
    return set(as_list(statement["Action"])) <= LOG_DELIVERY


# --- parameters -----------------------------------------------------------------------------------


def test_every_parameter_has_a_description_and_allowed_values() -> None:
    for name, p in template()["Parameters"].items():
        assert p.get("Description"), name
        assert {"AllowedValues", "AllowedPattern", "MinValue"} & set(p), name


def test_schedule_defaults_to_three_in_the_morning_utc() -> None:
    assert template()["Parameters"]["SweepSchedule"]["Default"] == "cron(0 3 * * ? *)"


def test_deadline_ceiling_is_accepted_by_config_at_every_allowed_delay() -> None:
    # given the template's largest deadline and the whole range of delays it allows
    params = template()["Parameters"]
    deadline = params["CheckDeadlineSeconds"]["MaxValue"]
    # then Config accepts each pair (the loop bound holds for any deployable value)
    for delay in range(
        params["CheckDelaySeconds"]["MinValue"], params["CheckDelaySeconds"]["MaxValue"] + 1, 30
    ):
        Config(check_delay_seconds=delay, check_deadline_seconds=deadline)
    with pytest.raises(ConfigError):
        Config(check_delay_seconds=0, check_deadline_seconds=deadline + 1)


def test_parameter_defaults_match_the_code_defaults() -> None:
    params, defaults = template()["Parameters"], Config()
    assert params["MinListingBytes"]["Default"] == defaults.min_listing_bytes
    assert params["GraceSeconds"]["Default"] == defaults.grace_seconds
    assert params["StaleToleranceSeconds"]["Default"] == defaults.stale_tolerance_seconds
    assert params["ProblemThreshold"]["Default"] == defaults.threshold
    assert params["CheckDelaySeconds"]["Default"] == defaults.check_delay_seconds
    assert params["CheckDeadlineSeconds"]["Default"] == defaults.check_deadline_seconds
    assert params["ReportPrefix"]["Default"] == defaults.report_prefix
    assert params["ManifestRule"]["Default"] == defaults.manifest_rule


# --- environment ------------------------------------------------------------------------------------


def test_template_sets_exactly_the_environment_the_code_reads() -> None:
    # given every variable the code reads (Config's sources, observability, Powertools)
    read = {env for env, _ in _SOURCES.values() if env} | READ_OUTSIDE_CONFIG | READ_BY_LIBRARIES
    # when the template's functions are deployed
    cfn = transformed()
    set_by_template = {name for fn in functions(cfn).values() for name in env_of(fn)}
    # then nothing the code reads is left unset, and nothing set goes unread
    assert read - set_by_template == set(), "read by the code, never set by the template"
    assert set_by_template - read == set(), "set by the template, never read by the code"


def test_tarball_extensions_in_the_environment_are_the_code_defaults() -> None:
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert tuple(env["TARBALL_EXTENSIONS"].split(",")) == DEFAULT_EXTENSIONS


# --- the upload rule ------------------------------------------------------------------------------------


def upload_pattern(prefix: str = "backups/") -> EventPattern:
    cfn = transformed()
    rules = [r for r in of_type(cfn, "AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    (rule,) = rules
    pattern = resolve(rule["Properties"]["EventPattern"], parameter_values({"BackupPrefix": prefix}))
    return EventPattern.load(json.dumps(pattern))


def test_upload_rule_is_the_pattern_the_demo_and_the_code_use() -> None:
    assert upload_pattern("p/")._pattern == upload_pattern_of("backup-bucket", DEFAULT_EXTENSIONS)


def test_upload_rule_extensions_are_the_tarball_extensions_in_any_case() -> None:
    keys = upload_pattern("p/")._pattern["detail"]["object"]["key"]
    assert [k["suffix"]["equals-ignore-case"] for k in keys] == list(DEFAULT_EXTENSIONS)


@pytest.mark.parametrize(
    "key",
    [
        "backups/host1/2026-11-22.tar.zst",
        "backups/a.tar",
        "backups/h/db dump+v2 100%.tgz",
        "backups/h/résumé & <notes>.tar.gz",
        "backups/deep/er/x.tar.lz4",
        "backups/HOST/NIGHT.TAR.GZ",
        "backups/h/Mixed.Tar.Zst",
    ],
)
def test_upload_rule_matches_tarballs_under_the_prefix(key: str) -> None:
    assert upload_pattern().matches_event(eventbridge_created("backup-bucket", key))


@pytest.mark.parametrize(
    ("bucket", "key"),
    [
        ("backup-bucket", "backups/host1/2026-11-22.tar.zst.list.txt"),  # a listing
        ("backup-bucket", "backups/host1/2026-11-22.manifest.json"),  # a manifest
        ("backup-bucket", "backups/host1/x.tar.zst.sha256"),  # not a tarball
        ("backup-bucket", "backups/host1/a.tar.gz.d/notes.txt"),  # inside a folder named like one
        ("backup-bucket", "backups/HOST1/X.TAR.ZST.LIST.TXT"),  # an upper-case listing
        ("another-bucket", "backups/host1/x.tar"),  # another bucket
    ],
)
def test_upload_rule_rejects_siblings_and_everything_outside(bucket: str, key: str) -> None:
    assert not upload_pattern().matches_event(eventbridge_created(bucket, key))


def test_tarballs_outside_the_prefix_are_routed_and_skipped_by_the_intake() -> None:
    # given the rule (a suffix cannot be ANDed with a prefix) and the intake that filters the prefix
    from sibling_sentinel.domain.event_path.check import NewObject
    from sibling_sentinel.domain.event_path.event_path import Intake

    from fakes import NOW, FakeLog, FakeQueue

    intake = Intake(FakeQueue(), Config().policy(), "backup-bucket", "backups/", 300, 3600, FakeLog())
    for key in ("backups-old/host1/x.tar", "other/backups/x.tar"):
        # when a tarball outside the prefix is uploaded, then it reaches the function, which skips it
        assert upload_pattern().matches_event(eventbridge_created("backup-bucket", key))
        assert not intake.watches(NewObject("backup-bucket", key, "e", 1, NOW))


def test_upload_rule_with_an_empty_prefix_watches_the_whole_bucket() -> None:
    pattern = upload_pattern("")
    assert pattern.matches_event(eventbridge_created("backup-bucket", "x.tar"))
    assert not pattern.matches_event(eventbridge_created("backup-bucket", "x.tar.list.txt"))


# --- functions, queue and events ---------------------------------------------------------------------------


def test_functions_run_python_312_on_arm64_with_active_tracing_and_their_own_log_group() -> None:
    cfn = transformed()
    groups = of_type(cfn, "AWS::Logs::LogGroup")
    for name, fn in functions(cfn).items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.12", name
        assert props["Architectures"] == ["arm64"], name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_checker_may_loop_and_reports_partial_batch_failures() -> None:
    cfn = transformed()
    assert functions(cfn)["CheckSiblings"]["Properties"]["RecursiveLoop"] == "Allow"
    (mapping,) = of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["CheckQueue", "Arn"]}


def test_check_queue_outlasts_six_checker_timeouts_and_redrives_to_its_dlq() -> None:
    cfn = transformed()
    queue = cfn["Resources"]["CheckQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * functions(cfn)["CheckSiblings"]["Properties"]["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["CheckDLQ", "Arn"]}
    for name in ("CheckQueue", "CheckDLQ", "IntakeDLQ"):
        assert cfn["Resources"][name]["Properties"]["SqsManagedSseEnabled"] is True


def test_nightly_schedule_sends_the_scheduled_payload() -> None:
    cfn = transformed()
    (rule,) = [
        r
        for r in of_type(cfn, "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
        and r.get("Condition") != "SampledVerificationOn"
        and r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["FullSweep", "Arn"]}
    ]
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "SweepSchedule"}
    (target,) = rule["Properties"]["Targets"]
    assert json.loads(target["Input"]) == {"trigger": "schedule"}
    assert target["Arn"] == {"Fn::GetAtt": ["FullSweep", "Arn"]}


def test_failed_uploads_are_kept_in_the_intake_dlq() -> None:
    cfn = transformed()
    config = cfn["Resources"]["OnTarballCreatedEventInvokeConfig"]["Properties"]
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["IntakeDLQ", "Arn"]}
    (rule,) = [r for r in of_type(cfn, "AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    (target,) = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["IntakeDLQ", "Arn"]}


# --- alerts and alarms ------------------------------------------------------------------------------------


def test_alert_topic_uses_a_customer_key_that_cloudwatch_may_use() -> None:
    resources = template()["Resources"]
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    statements = resources["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])


def test_email_subscription_exists_only_when_an_address_is_given() -> None:
    resources = template()["Resources"]
    assert resources["AlertEmailSubscription"]["Condition"] == "HasAlertEmail"


def alarms() -> dict[str, dict[str, Any]]:
    return {n: r["Properties"] for n, r in of_type(template(), "AWS::CloudWatch::Alarm").items()}


def test_every_alarm_goes_to_the_alert_topic() -> None:
    for name, alarm in alarms().items():
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}], name


def test_dead_man_alarm_fires_after_26_hours_without_a_completed_sweep() -> None:
    alarm = alarms()["SweepHeartbeatMissingAlarm"]
    assert alarm["MetricName"] == "SweepCompleted"
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 26 * 3600
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"


def test_alarms_cover_problems_dlqs_errors_loops_and_the_event_paths_dead_man() -> None:
    watched = {
        (a["Namespace"], a["MetricName"], json.dumps(a.get("Dimensions")))
        for a in alarms().values()
        if "Namespace" in a  # a metric-math alarm names its metrics in Metrics
    }
    names = {(ns, metric) for ns, metric, _ in watched}
    assert ("SiblingSentinel", "Problems") in names
    assert ("SiblingSentinel", "TarballsNotChecked") in names
    # a failed check pages once, through its own `check-failed` alert, not again through an alarm
    assert ("SiblingSentinel", "SiblingCheckFailed") not in names
    assert ("AWS/Lambda", "RecursiveInvocationsDropped") in names
    for fn in ("OnTarballCreated", "CheckSiblings", "FullSweep"):
        assert (
            "AWS/Lambda",
            "Errors",
            json.dumps([{"Name": "FunctionName", "Value": {"Ref": fn}}]),
        ) in watched
    for dlq in ("CheckDLQ", "IntakeDLQ"):
        dims = json.dumps([{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}])
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims) in watched
    assert alarms()["ProblemsAboveThresholdAlarm"]["Threshold"] == {"Ref": "ProblemThreshold"}


def test_dashboard_body_is_the_one_in_infra() -> None:
    body = template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert json.loads(body) == json.loads((ROOT / "infra" / "dashboard.json").read_text(encoding="utf-8"))
    titles = " ".join(w["properties"]["title"] for w in json.loads(body)["widgets"]).lower()
    for shown in (
        "coverage",
        "problems by verdict",
        "arrival lag",
        "duration",
        "objects listed",
        "dead-letter",
    ):
        assert shown in titles


def test_outputs_name_what_users_and_tests_read() -> None:
    outputs = set(template()["Outputs"])
    assert {
        "AlertTopicArn",
        "CheckQueueUrl",
        "CheckDLQUrl",
        "IntakeDLQUrl",
        "FullSweepName",
        "FullSweepArn",
        "OnTarballCreatedArn",
        "CheckSiblingsArn",
        "DashboardUrl",
        "ReportLocation",
    } <= outputs


# --- least privilege ---------------------------------------------------------------------------------


def test_no_role_statement_has_a_wildcard_action_or_resource() -> None:
    for statement in role_statements(transformed()):
        for action in as_list(statement["Action"]):
            assert action != "*"
            assert not action.endswith(":*"), statement
        assert "*" not in as_list(statement["Resource"]) or is_log_delivery(statement), statement


def test_the_only_star_resources_are_the_kms_key_policy_where_aws_requires_one() -> None:
    # A key policy is attached to its key and must name it as "*"; every other "*" would be a grant.
    stars = []
    for name, resource in template()["Resources"].items():
        for doc_key in ("KeyPolicy", "PolicyDocument"):
            doc = resource["Properties"].get(doc_key)
            for statement in (doc or {}).get("Statement", []):
                if "*" in as_list(statement.get("Resource")):
                    stars.append((name, resource["Type"]))
    assert {kind for _, kind in stars} == {"AWS::KMS::Key"}
    (delivery,) = [
        s
        for resource in template()["Resources"].values()
        for policy in resource["Properties"].get("Policies", [])
        if isinstance(policy, dict)
        for s in policy.get("Statement", [])
        if "*" in as_list(s.get("Resource"))
    ]
    assert is_log_delivery(delivery)


def s3_statements(fn: str) -> list[dict[str, Any]]:
    values = parameter_values()
    cfn = transformed()
    role = cfn["Resources"][f"{fn}Role"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]

    def touches_s3(s: dict[str, Any]) -> bool:
        if "Fn::If" in s:
            return any(isinstance(b, dict) and "Action" in b and touches_s3(b) for b in s["Fn::If"][1:])
        return any(str(a).startswith("s3:") for a in as_list(s["Action"]))

    return [resolve(s, values) for s in statements if touches_s3(s)]


@pytest.mark.parametrize("fn", ["CheckSiblings", "FullSweep"])
def test_s3_reads_are_scoped_to_the_prefix(fn: str) -> None:
    statements = s3_statements(fn)
    (listing, *history) = [s for s in statements if "s3:ListBucket" in as_list(s["Action"])]
    assert listing["Resource"] == "arn:aws:s3:::backup-bucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "backups/*"}}
    reads = [s["Resource"] for s in statements if "s3:GetObject" in as_list(s["Action"])]
    assert reads[0] == "arn:aws:s3:::backup-bucket/backups/*"
    # FullSweep also reads back its own checkpoints, the previous run's report and the run history, and
    # nothing else
    assert [r["Fn::Sub"][0] for r in reads[1:]] == (
        [
            "arn:${AWS::Partition}:s3:::${Bucket}/${ReportPrefix}checkpoints/*",
            "arn:${AWS::Partition}:s3:::${Bucket}/${ReportPrefix}*",
        ]
        if fn == "FullSweep"
        else []
    )
    # and may list only under the report prefix, to tell "none yet" from "denied"
    assert [h["Condition"] for h in history] == (
        [{"StringLike": {"s3:prefix": "sibling-sentinel/reports/*"}}] if fn == "FullSweep" else []
    )


def test_full_sweep_may_invoke_only_itself() -> None:
    cfn = transformed()
    role = cfn["Resources"]["FullSweepRole"]["Properties"]
    statements = [
        resolve(s, parameter_values())
        for policy in role["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
        if s.get("Action") == "lambda:InvokeFunction"
    ]
    (statement,) = statements
    name = resolve(functions(cfn)["FullSweep"]["Properties"]["FunctionName"], parameter_values())
    assert statement["Resource"].endswith(f":function:{name}")


def test_reports_may_be_written_only_under_the_report_prefix() -> None:
    (put,) = [s for s in s3_statements("FullSweep") if s["Action"] == "s3:PutObject"]
    (arn,) = put["Resource"]["Fn::Sub"][:1]
    assert arn == "arn:${AWS::Partition}:s3:::${Bucket}/${ReportPrefix}*"


def test_event_path_intake_may_only_queue_checks() -> None:
    actions = {a for s in s3_statements("OnTarballCreated") for a in as_list(s["Action"])}
    assert actions == set()


# --- the nightly sampled verification (issue 17) ------------------------------------------------------


def verify_statements(auto_repair: str) -> list[dict[str, Any]]:
    """VerifySample's S3 statements with the AutoRepair condition decided as CloudFormation would."""
    statements = []
    for s in s3_statements("VerifySample"):
        if "Fn::If" in s:
            condition, when_on, when_off = s["Fn::If"]
            assert condition == "AutoRepairMissing"
            s = when_on if auto_repair == "missing" else when_off
            if s == {"Ref": "AWS::NoValue"}:
                continue
        statements.append(s)
    return statements


def test_sampled_verification_is_deployed_only_with_a_byte_budget() -> None:
    # given the template's conditions
    cfn = template()
    # then the function, its log group and its alarms exist only when VerifyBudgetBytes is not 0
    for name in (
        "VerifySample",
        "VerifySampleLogs",
        "VerificationFoundProblemsAlarm",
        "VerifySampleErrorsAlarm",
    ):
        assert cfn["Resources"][name]["Condition"] == "SampledVerificationOn", name
    assert cfn["Conditions"]["SampledVerificationOn"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "VerifyBudgetBytes"}, 0]}]
    }
    assert cfn["Parameters"]["VerifyBudgetBytes"]["Default"] == 0
    assert cfn["Parameters"]["AutoRepair"]["Default"] == "off"


def test_sampled_verification_without_auto_repair_writes_only_its_reports() -> None:
    # given AutoRepair off
    statements = verify_statements("off")
    # then it lists and reads under the prefix, and writes only under the report prefix's verify/
    writes = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert [w["Resource"]["Fn::Sub"][0] for w in writes] == [
        "arn:${AWS::Partition}:s3:::${Bucket}/${ReportPrefix}verify/*"
    ]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions == {"s3:ListBucket", "s3:GetObject", "s3:PutObject"}


def test_auto_repair_adds_exactly_put_object_on_listings_under_the_prefix() -> None:
    # given AutoRepair missing
    off, on = verify_statements("off"), verify_statements("missing")
    # then the one statement added is s3:PutObject on BUCKET/PREFIX*.list.txt
    added = [s for s in on if s not in off]
    assert added == [
        {
            "Sid": "RepairOnlyListingsUnderThePrefix",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::backup-bucket/backups/*.list.txt",
        }
    ]


def test_sampled_verification_alarms_on_mismatches_and_corrupt_tarballs() -> None:
    alarm = template()["Resources"]["VerificationFoundProblemsAlarm"]["Properties"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"ListingMismatches", "TarballsCorrupt", "ChecksumMismatches"}
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
