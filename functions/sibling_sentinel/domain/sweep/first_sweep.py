"""The stack's first sweep: CloudFormation runs it when the stack is created, as a custom resource.

The heartbeat alarm (`SweepCompleted` missing for 26 h is breaching) is created after it, so a new
stack starts from a real datapoint instead of paging before its first 03:00 sweep, while a stack whose
sweep never ran still pages. It doubles as a deploy-time check: a first sweep that cannot list, read
or report fails the stack's creation with the reason, rather than failing silently at 03:00.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..ports import StackResponder

REASON_MAX = 1000  # CloudFormation shows the reason; the whole response must stay under 4 KB


def is_stack_event(event: Any) -> bool:
    return isinstance(event, Mapping) and "RequestType" in event and "ResponseURL" in event


def loggable(event: Any) -> Any:
    """The event as it may be logged: a stack event's presigned `ResponseURL` is a credential (whoever
    holds it can answer for the custom resource, and fail or pass the stack), so it never reaches logs."""
    if is_stack_event(event):
        return {**event, "ResponseURL": "(presigned URL, not logged)"}
    return event


def on_stack_event(
    event: Mapping[str, Any],
    sweep: Callable[[], Mapping[str, Any]],
    flush: Callable[[], None],
    responder: StackResponder,
) -> dict[str, Any]:
    """Create: sweep, flush its metrics (the heartbeat), then answer. Update and Delete: answer at once.

    Every path answers, because CloudFormation waits an hour for a custom resource that never does.
    """
    status, reason, data = "SUCCESS", "no sweep on update or delete", {}
    if event["RequestType"] == "Create":
        try:
            result = sweep()
            data = {"RunId": str(result.get("run_id", "")), "Report": str(result.get("report") or "")}
            reason = (
                f"first sweep {data['RunId']}: {result.get('problems')} problems, "
                f"breach {result.get('breach')}, report {data['Report']}"
            )
        except Exception as e:  # any failure must still answer CloudFormation, with its reason
            status, reason = "FAILED", f"the first sweep failed: {type(e).__name__}: {e}"
        flush()
    body = {
        "Status": status,
        "Reason": reason[:REASON_MAX],
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"first-sweep-{event['RequestId']}",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    responder.send(str(event["ResponseURL"]), body)
    return body
