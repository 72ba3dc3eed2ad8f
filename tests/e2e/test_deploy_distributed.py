"""`SweepEngine=distributed` deploys: created in moto's CloudFormation, the schedule starts the state machine.

Beside test_deploy_smoke.py (the default engine). moto's CloudFormation creates the state machine but
leaves `DefinitionSubstitutions` unmade, so the test makes them from the deployed functions' ARNs, as
CloudFormation does, and checks the result names those functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from template_tools import deployable, deployed_stack, transformed

pytestmark = pytest.mark.e2e

STACK = "sentinel-distributed"
PARAMETERS = {
    "BackupBucket": "distributed-backups",
    "SweepEngine": "distributed",
    "SweepMapConcurrency": "12",
}


@pytest.fixture(scope="module")
def deployed(s3_endpoint: str) -> Iterator[tuple[dict[str, str], Any]]:
    # given the code artifact and the template as SAM transforms it, with the distributed engine chosen
    # when it is created as a stack
    for _, resources, client in deployed_stack(s3_endpoint, STACK, PARAMETERS, deployable(PARAMETERS)):
        yield resources, client


def test_the_state_machine_is_created_with_its_own_functions_substituted(
    deployed: tuple[dict[str, str], Any],
) -> None:
    resources, client = deployed
    machine = client("stepfunctions").describe_state_machine(stateMachineArn=resources["SweepMap"])
    assert machine["name"] == f"{STACK}-SweepMap"
    lambdas = client("lambda")
    arns = {
        n: lambdas.get_function(FunctionName=resources[n])["Configuration"]["FunctionArn"]
        for n in ("SweepMapPlan", "SweepMapRanges", "SweepMapMerge")
    }
    substitutions = transformed(PARAMETERS)["Resources"]["SweepMap"]["Properties"]["DefinitionSubstitutions"]
    values = {
        name: arns[value["Fn::GetAtt"][0]] if "Fn::GetAtt" in value else PARAMETERS["SweepMapConcurrency"]
        for name, value in substitutions.items()
        if "Fn::GetAtt" in value or name == "MaxConcurrency"
    }
    text = machine["definition"]
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    definition = json.loads(text)
    states = definition["States"]
    assert states["Plan"]["Parameters"]["FunctionName"] == arns["SweepMapPlan"]
    assert states["Plan"]["Parameters"]["Payload"]["max_concurrency"] == "12"
    batch = states["SweepRanges"]["ItemProcessor"]["States"]["SweepBatch"]
    assert batch["Parameters"]["FunctionName"] == arns["SweepMapRanges"]
    assert states["Merge"]["Parameters"]["FunctionName"] == arns["SweepMapMerge"]


def test_the_nightly_schedule_starts_the_state_machine_and_not_the_function(
    deployed: tuple[dict[str, str], Any],
) -> None:
    resources, client = deployed
    events = client("events")
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    machine = rules[resources["SweepMapNightly"].split("|")[0]]
    function = rules[resources["FullSweepNightly"].split("|")[0]]
    assert (machine["State"], function["State"]) == ("ENABLED", "DISABLED")
    (target,) = events.list_targets_by_rule(Rule=machine["Name"])["Targets"]
    assert target["Arn"] == resources["SweepMap"]
    assert json.loads(target["Input"]) == {"trigger": "schedule"}
