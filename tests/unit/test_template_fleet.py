"""template.yaml and the fleet's health: the upload rule over generated names, one stack's own numbers,
alarms that fit a daily sweep, the dashboard's ranges, and SSE-KMS grants."""

from __future__ import annotations

import itertools
import json
from typing import Any

from moto.events.models import EventPattern

from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.tarballs import DEFAULT_EXTENSIONS, TarballNaming
from template_tools import ROOT, functions, of_type, parameter_values, resolve, template, transformed

from fixtures import eventbridge_created

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"


def upload_rule(cfn: dict[str, Any]) -> EventPattern:
    (rule,) = [r for r in of_type(cfn, "AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    return EventPattern.load(json.dumps(resolve(rule["Properties"]["EventPattern"], parameter_values())))


def spellings(ext: str) -> list[str]:
    """Lower, upper, title and an alternating case of an extension."""
    alternating = "".join(c.upper() if i % 2 else c for i, c in enumerate(ext))
    return sorted({ext, ext.upper(), ext.title(), alternating})


def generated_keys() -> list[str]:
    stems = ["backups/h/night", "backups/h/db dump+v2 100%", "backups/H/résumé & <x>", "backups/deep/a/b/c"]
    tails = [e for ext in DEFAULT_EXTENSIONS for e in spellings(ext)]
    tails += [".list.txt", ".manifest.json", ".sha256", ".tar.zst.sha256", ".TAR.GZ.LIST.TXT", ".zip", ""]
    keys = [stem + tail for stem, tail in itertools.product(stems, tails)]
    keys += ["backups/h/a.tar.gz.d/notes.txt", "backups/h/A.TGZ/readme", "backups/h/x.tar.", "backups/h/tar"]
    return keys


def test_the_upload_rule_routes_exactly_the_keys_the_naming_rule_calls_tarballs_in_any_case() -> None:
    # given the deployed rule and the sweep's naming rule, over generated names in every case
    rule, naming = upload_rule(transformed()), TarballNaming(DEFAULT_EXTENSIONS)
    # when each key's Object Created event meets the rule
    routed = {
        key for key in generated_keys() if rule.matches_event(eventbridge_created("backup-bucket", key))
    }
    tarballs = {key for key in generated_keys() if naming.is_tarball(key)}
    # then the rule routes every tarball and nothing else
    assert routed == tarballs
    assert "backups/h/night.TAR.GZ" in routed


def test_a_name_that_is_only_an_extension_is_routed_but_the_intake_skips_it() -> None:
    # EventBridge's suffix cannot tell `h/.tar` from `h/x.tar`; the naming rule (and so the intake) can.
    rule, naming = upload_rule(transformed()), TarballNaming(DEFAULT_EXTENSIONS)
    assert rule.matches_event(eventbridge_created("backup-bucket", "backups/h/.TAR"))
    assert not naming.is_tarball("backups/h/.TAR")


def identities(stack: str) -> dict[str, set[str]]:
    """Each place one deployment names itself: the functions' service, the alarms', the dashboard's."""
    values = {**parameter_values(), "AWS::StackName": stack}
    cfn = resolve(transformed(), values)
    services = {
        fn["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for fn in functions(cfn).values()
    }
    metrics = [
        metric
        for a in of_type(cfn, "AWS::CloudWatch::Alarm").values()
        # a plain alarm names its metric itself; a metric-math alarm names each in Metrics
        for metric in [a["Properties"]]
        + [m["MetricStat"]["Metric"] for m in a["Properties"].get("Metrics", []) if "MetricStat" in m]
    ]
    alarmed = {
        d["Value"]
        for metric in metrics
        if metric.get("Namespace") == "SiblingSentinel"
        for d in metric["Dimensions"]
        if d["Name"] == "service"
    }
    body = json.loads(resolve(template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"], values))
    shown = {m[3] for w in body["widgets"] for m in w["properties"]["metrics"] if m[0] == "SiblingSentinel"}
    return {"services": services, "alarms": alarmed, "dashboard": shown}


def test_two_stacks_in_one_account_each_count_alarm_and_show_only_their_own_numbers() -> None:
    # given two deployments of the template, one per bucket
    first, second = identities("sentinel-photos"), identities("sentinel-databases")
    # then every metric, alarm and widget of each names its own stack, and they share none
    assert first == {
        "services": {"sentinel-photos"},
        "alarms": {"sentinel-photos"},
        "dashboard": {"sentinel-photos"},
    }
    assert all(not (first[k] & second[k]) for k in first)


def test_two_transformed_templates_keep_the_stack_name_unresolved_until_deploy() -> None:
    for bucket in ("bucket-one", "bucket-two"):
        cfn = transformed({"BackupBucket": bucket})
        for fn in functions(cfn).values():
            assert fn["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == {
                "Ref": "AWS::StackName"
            }


def alarm(name: str) -> dict[str, Any]:
    props: dict[str, Any] = template()["Resources"][name]["Properties"]
    return props


def test_sweep_alarms_keep_their_state_between_nightly_sweeps_so_ok_means_a_later_sweep_passed() -> None:
    for name in ("ProblemsAboveThresholdAlarm", "TarballsNotCheckedAlarm"):
        props = alarm(name)
        assert props["TreatMissingData"] == "ignore", name
        assert props["OKActions"] == [{"Ref": "AlertTopic"}], name


def test_the_event_paths_dead_man_fires_on_one_unchecked_upload() -> None:
    props = alarm("TarballsNotCheckedAlarm")
    assert props["MetricName"] == "TarballsNotChecked"
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert "'Tarballs not checked'" in props["AlarmDescription"]


def test_the_dashboard_opens_on_two_weeks_of_daily_sweep_points() -> None:
    body = json.loads((ROOT / "infra" / "dashboard.json").read_text(encoding="utf-8"))
    assert body["start"] == "-P14D"
    sweep_metrics = {
        "CoveragePercent",
        "SiblingsMissing",
        "HostsOverdue",
        "TarballsNotChecked",
        "TarballsScanned",
    }
    for widget in body["widgets"]:
        names = {m[1] for m in widget["properties"]["metrics"]}
        if names & sweep_metrics:
            assert widget["properties"]["period"] == 86400, widget["properties"]["title"]
    shown = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
    assert {"HostsOverdue", "TarballsNotChecked"} <= shown


def test_fleet_parameters_default_to_a_nightly_backup() -> None:
    params = template()["Parameters"]
    assert params["MinTarballs"]["Default"] == Config().min_tarballs == 1
    assert params["MaxBackupAgeSeconds"]["Default"] == 26 * 3600
    env = functions(transformed())
    sweep = next(fn for name, fn in env.items() if name == "FullSweep")["Properties"]["Environment"][
        "Variables"
    ]
    assert sweep["MIN_TARBALLS"] == {"Ref": "MinTarballs"}
    assert sweep["MAX_BACKUP_AGE_SECONDS"] == {"Ref": "MaxBackupAgeSeconds"}


def kms_grants(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The role's statements on the backup bucket's key, with its condition settled by the parameter."""
    has_key = parameter_values({"BackupBucketKmsKeyArn": cfn["_key"]})["BackupBucketKmsKeyArn"] != ""
    statements = []
    for policy in cfn["Resources"][role]["Properties"]["Policies"]:
        for s in policy["PolicyDocument"]["Statement"]:
            if set(s) == {"Fn::If"}:
                condition, yes, no = s["Fn::If"]
                assert condition == "HasBackupKey"
                s = yes if has_key else no
            if s != {"Ref": "AWS::NoValue"} and s.get("Resource") == {"Ref": "BackupBucketKmsKeyArn"}:
                statements.append(s)
    return statements


def test_an_sse_kms_bucket_gets_decrypt_for_reads_and_generate_data_key_for_the_report_on_that_key_only() -> (
    None
):
    # given the template deployed with and without the bucket's key
    with_key = {
        **transformed({"BackupBucket": "backup-bucket", "BackupBucketKmsKeyArn": KEY_ARN}),
        "_key": KEY_ARN,
    }
    without = {**transformed(), "_key": ""}
    # then FullSweep may decrypt and generate data keys, CheckSiblings only decrypt, each on that key alone
    (sweep,) = kms_grants(with_key, "FullSweepRole")
    assert sorted(sweep["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    (check,) = kms_grants(with_key, "CheckSiblingsRole")
    assert check["Action"] == "kms:Decrypt"
    # and without a key, no grant is made
    assert kms_grants(without, "FullSweepRole") == []
    assert kms_grants(without, "CheckSiblingsRole") == []


def test_the_key_parameter_takes_a_key_arn_not_an_alias() -> None:
    import re

    pattern = template()["Parameters"]["BackupBucketKmsKeyArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, KEY_ARN)
    assert re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "arn:aws:kms:us-east-1:123456789012:alias/backups")


def test_a_new_stack_sweeps_once_before_its_heartbeat_alarm_exists() -> None:
    # given the template: the first sweep is a custom resource served by FullSweep
    resources = template()["Resources"]
    assert resources["FirstSweep"]["Type"] == "Custom::FirstSweep"
    assert resources["FirstSweep"]["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["FullSweep", "Arn"]}
    # then the heartbeat alarm is created only after that sweep answered, and still breaches on silence
    heartbeat = resources["SweepHeartbeatMissingAlarm"]
    assert heartbeat["DependsOn"] == "FirstSweep"
    assert heartbeat["Properties"]["TreatMissingData"] == "breaching"
