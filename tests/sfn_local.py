"""Step Functions on moto's ASL interpreter with the product's own Lambda handlers run in-process.

moto's interpreter calls Lambda through `boto3.client("lambda").invoke` from the default session; moto
would run the functions in Docker, which these machines lack. `Lambdas` is a `before-call` hook on
Lambda `Invoke` that runs the real handler instead and answers as Lambda does (an unhandled error is
`FunctionError: Unhandled` with `errorType`), and can throttle or fail the calls a test chooses.
Used by tests/integration/test_sweep_map.py and bench/sweep_map_speed.py.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from sibling_sentinel.lambda_edge.handlers import sweep_map
from template_tools import template

from stack import ACCOUNT, REGION, LambdaContext

FUNCTIONS = {"plan": sweep_map.plan, "ranges": sweep_map.sweep_ranges, "merge": sweep_map.merge}
Fault = Callable[[str, dict[str, Any], int], BaseException | None]  # function, payload, nth call


def definition(files_bucket: str, max_concurrency: int = 4) -> str:
    """The state machine's definition as deployed, its substitutions made as CloudFormation makes them."""
    machine = template()["Resources"]["SweepMap"]["Properties"]
    text = json.dumps(machine["Definition"])
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    values = {
        "PlanArn": arn + "plan",
        "SweepRangesArn": arn + "ranges",
        "MergeArn": arn + "merge",
        "FilesBucket": files_bucket,
        "WriterPrefix": "sibling-sentinel/reports/map/map-runs",
        "MaxConcurrency": str(max_concurrency),
    }
    assert set(machine["DefinitionSubstitutions"]) == set(values)
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


@dataclass
class Lambdas:
    """Every Invoke the interpreter makes, run here; `fault` may fail one before (or after) it runs."""

    fault: Fault = lambda name, payload, n: None
    after: Fault = lambda name, payload, n: None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        name = unquote(params["url_path"].split("/functions/")[1].split("/")[0]).rsplit(":", 1)[-1]
        payload = json.loads(params["body"] or b"{}")
        self.calls.append((name, payload))
        n = sum(1 for called, p in self.calls if called == name and p == payload)
        fault = self.fault(name, payload, n)
        if fault is not None:
            raise fault
        try:
            result = FUNCTIONS[name](payload, LambdaContext(name, f"req-{len(self.calls)}"))
        except Exception as e:  # as Lambda reports an unhandled error
            body = {"errorType": type(e).__name__, "errorMessage": str(e)}
            return _Http(), {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": _payload(body)}
        after = self.after(name, payload, n)
        if after is not None:
            raise after
        return _Http(), {"StatusCode": 200, "Payload": _payload(result)}

    def items(self) -> list[int]:
        return [p["index"] for name, p in self.calls if name == "ranges"]


@dataclass(frozen=True)
class _Http:
    status_code: int = 200


def _payload(value: Any) -> io.BytesIO:
    return io.BytesIO(json.dumps(value).encode())


def throttled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": "r"},
        },
        "Invoke",
    )
