"""A deployment smoke test: template.yaml, transformed by SAM, created as a stack in moto's CloudFormation.

The stack is created on the e2e moto server (over HTTP, like `sam deploy` talking to AWS), and the
test then reads back what exists and checks that the parts point at each other. moto's
CloudFormation creates neither CloudWatch alarms nor `AWS::Scheduler` resources (and still reports
CREATE_COMPLETE), nor `AWS::SNS::Subscription`, and it drops a function's Architectures; those are
asserted on the transformed template instead. The schedule is an `AWS::Events::Rule`, which moto
does create.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from template_tools import deployable, deployed_stack

pytestmark = pytest.mark.e2e

PARAMETERS = {"BackupBucket": "smoke-backups", "BackupPrefix": "backups/", "AlertEmail": "oncall@example.com"}


@dataclass
class Deployed:
    resources: dict[str, str]  # logical id -> physical id
    outputs: dict[str, str]
    template: dict[str, Any]
    client: Any

    def __call__(self, service: str) -> Any:
        return self.client(service)


@pytest.fixture(scope="module")
def deployed(s3_endpoint: str) -> Iterator[Deployed]:
    # given the code artifact `sam deploy` would upload, and the template as SAM transforms it
    template = deployable(PARAMETERS)
    # when it is created as a stack
    for stack, resources, client in deployed_stack(s3_endpoint, "sibling-sentinel", PARAMETERS, template):
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        yield Deployed(resources, outputs, template, client)


def function(deployed: Deployed, name: str) -> dict[str, Any]:
    config: dict[str, Any] = deployed("lambda").get_function(FunctionName=deployed.resources[name])[
        "Configuration"
    ]
    return config


def test_three_functions_exist_on_python_312_and_arm64(deployed: Deployed) -> None:
    for name in ("OnTarballCreated", "CheckSiblings", "FullSweep"):
        assert function(deployed, name)["Runtime"] == "python3.12"
        # moto's CloudFormation drops Architectures (it reports x86_64), so read it from the template
        assert deployed.template["Resources"][name]["Properties"]["Architectures"] == ["arm64"]


def test_check_queue_redrives_to_its_dlq(deployed: Deployed) -> None:
    sqs = deployed("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=deployed.resources["CheckQueue"], AttributeNames=["All"])[
        "Attributes"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=deployed.resources["CheckDLQ"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"] == dlq_arn
    assert int(attrs["VisibilityTimeout"]) >= 6 * function(deployed, "CheckSiblings")["Timeout"]


def test_functions_are_configured_with_the_queue_and_topic_they_use(deployed: Deployed) -> None:
    topic = deployed.resources["AlertTopic"]
    for name in ("OnTarballCreated", "CheckSiblings"):
        env = function(deployed, name)["Environment"]["Variables"]
        assert env["CHECK_QUEUE_URL"] == deployed.resources["CheckQueue"]
        assert env["ALERT_TOPIC_ARN"] == topic
    sweep = function(deployed, "FullSweep")["Environment"]["Variables"]
    assert sweep["REPORT_BUCKET"] == "smoke-backups"
    assert sweep["BACKUP_PREFIX"] == "backups/"


def test_checker_is_fed_by_the_check_queue_with_partial_failures(deployed: Deployed) -> None:
    mappings = deployed("lambda").list_event_source_mappings(FunctionName=deployed.resources["CheckSiblings"])
    (mapping,) = mappings["EventSourceMappings"]
    queue_arn = deployed("sqs").get_queue_attributes(
        QueueUrl=deployed.resources["CheckQueue"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_upload_rule_and_schedule_target_their_functions(deployed: Deployed) -> None:
    events = deployed("events")
    arns = {n: function(deployed, n)["FunctionArn"] for n in ("OnTarballCreated", "FullSweep")}
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    upload = rules[deployed.resources["OnTarballCreatedTarballCreated"].split("|")[0]]
    assert json.loads(upload["EventPattern"])["detail"]["bucket"]["name"] == ["smoke-backups"]
    (target,) = events.list_targets_by_rule(Rule=upload["Name"])["Targets"]
    assert target["Arn"] == arns["OnTarballCreated"]
    nightly = rules[deployed.resources["FullSweepNightly"].split("|")[0]]
    assert nightly["ScheduleExpression"] == "cron(0 3 * * ? *)"
    (target,) = events.list_targets_by_rule(Rule=nightly["Name"])["Targets"]
    assert target["Arn"] == arns["FullSweep"]
    assert json.loads(target["Input"]) == {"trigger": "schedule"}


def test_alert_topic_is_encrypted_and_the_email_subscription_points_at_it(deployed: Deployed) -> None:
    topic = deployed.resources["AlertTopic"]
    assert deployed("sns").get_topic_attributes(TopicArn=topic)["Attributes"].get("KmsMasterKeyId")
    # moto's CloudFormation creates no AWS::SNS::Subscription resource, so read it from the template
    subscription = deployed.template["Resources"]["AlertEmailSubscription"]["Properties"]
    assert subscription["TopicArn"] == {"Ref": "AlertTopic"}
    assert subscription["Endpoint"] == {"Ref": "AlertEmail"}


def test_outputs_are_published(deployed: Deployed) -> None:
    assert deployed.outputs["CheckQueueUrl"] == deployed.resources["CheckQueue"]
    assert deployed.outputs["AlertTopicArn"] == deployed.resources["AlertTopic"]
    assert deployed.outputs["DashboardUrl"].startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/")


def test_alarms_are_in_the_deployed_template_though_moto_does_not_create_them(deployed: Deployed) -> None:
    alarms = {
        n
        for n, r in deployed.template["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r.get("Condition") != "SampledVerificationOn"
    }
    assert len(alarms) == 10  # and two more with the optional sampled verification
    assert "SweepHeartbeatMissingAlarm" in alarms
    created = deployed("cloudwatch").describe_alarms()["MetricAlarms"]
    assert created == []  # moto skipped them; template tests in tests/unit check their settings
