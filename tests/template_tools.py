"""template.yaml as data: loaded with CloudFormation's tags, transformed by SAM, and resolved for tests."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
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
