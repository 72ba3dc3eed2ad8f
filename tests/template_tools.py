"""template.yaml as data: loaded with CloudFormation's tags, transformed by SAM, and resolved for tests."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION, ACCOUNT = "us-east-1", "123456789012"
PARAMETERS = {"BackupBucket": "backup-bucket"}

# The managed policies SAM attaches (basic execution, X-Ray for `Tracing: Active`), given by ARN so the
# transform needs no IAM call.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}


@functools.cache
def _template() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
    return loaded


def template() -> dict[str, Any]:
    """The SAM template with `!Ref`, `!Sub` etc. as their `Ref` / `Fn::Sub` dictionaries."""
    return copy.deepcopy(_template())


class _Policies:
    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


@functools.cache
def _transformed(parameters: str) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    sam = template()
    sam["Globals"]["Function"].pop("CodeUri", None)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/code.zip"
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION  # SAM fills in pseudo parameters from the session's region
    try:
        result: dict[str, Any] = transform(sam, json.loads(parameters), _Policies())
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
    return result


def transformed(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """Plain CloudFormation, as SAM deploys it."""
    return copy.deepcopy(_transformed(json.dumps(parameters or PARAMETERS, sort_keys=True)))


def parameter_values(overrides: dict[str, str] | None = None) -> dict[str, Any]:
    values = {name: p.get("Default") for name, p in template()["Parameters"].items()}
    values.update(PARAMETERS)
    values.update(overrides or {})
    values.update({"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"})
    return values


def resolve(value: Any, values: dict[str, Any]) -> Any:
    """Resolves `Ref` and `Fn::Sub` of parameters and pseudo parameters; enough for patterns and ARNs."""
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in values:
        return str(values[value["Ref"]])
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(values.get(m.group(1), m.group(0))), value["Fn::Sub"])
    return {k: resolve(v, values) for k, v in value.items()}


def functions(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in cfn["Resources"].items() if r["Type"] == kind}


def deployable(parameters: dict[str, str]) -> dict[str, Any]:
    """The transformed template as moto's CloudFormation can create it: moto would run the FirstSweep
    custom resource's function in Docker, which these machines lack, and leave the stack
    CREATE_IN_PROGRESS, so it is left out (asserted on the template and run through the handler in
    test_template_fleet and test_first_sweep_handler instead)."""
    template = transformed(parameters)
    assert template["Resources"].pop("FirstSweep")["Type"] == "Custom::FirstSweep"
    assert template["Resources"]["SweepHeartbeatMissingAlarm"].pop("DependsOn") == "FirstSweep"
    return template


def deployed_stack(
    endpoint: str, name: str, parameters: dict[str, str], template: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], dict[str, str], Callable[[str], Any]]]:
    """Creates the stack on the moto server at `endpoint`, as `sam deploy` would (a code artifact, then
    the template); yields its description, its resources (logical -> physical id) and a client maker,
    and deletes it afterwards, pass or fail: the server is shared with the other e2e tests, and moto
    cannot deliver to the rules' Lambda and state-machine targets."""
    import io
    import zipfile

    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("sibling_sentinel/__init__.py", "")
    client("s3").create_bucket(Bucket="artifacts")
    client("s3").put_object(Bucket="artifacts", Key="code.zip", Body=code.getvalue())
    client("s3").create_bucket(Bucket=parameters["BackupBucket"])
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        resources = {  # moto lists the resources it skipped without ids
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
            if "PhysicalResourceId" in r
        }
        yield stack, resources, client
    finally:
        cfn.delete_stack(StackName=name)
