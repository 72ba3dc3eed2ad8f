"""The stack's first sweep: CloudFormation always gets an answer, and only Create sweeps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sibling_sentinel.domain.sweep.first_sweep import is_stack_event, loggable, on_stack_event
from sibling_sentinel.errors import AccessDeniedError


class Responder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, url: str, body: Mapping[str, Any]) -> None:
        self.sent.append((url, dict(body)))


def stack_event(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/x?sig=1",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "FirstSweep",
        "ResourceType": "Custom::FirstSweep",
        **extra,
    }


def test_create_sweeps_flushes_the_heartbeat_then_answers_success() -> None:
    # given the stack being created
    order: list[str] = []
    responder = Responder()

    def sweep() -> dict[str, Any]:
        order.append("sweep")
        return {"run_id": "r1", "problems": 0, "breach": False, "report": "s3://b/r1.json"}

    # when CloudFormation creates the custom resource
    body = on_stack_event(stack_event("Create"), sweep, lambda: order.append("flush"), responder)
    # then the sweep ran, its metrics went out before the answer, and the answer is SUCCESS
    assert order == ["sweep", "flush"]
    ((url, sent),) = responder.sent
    assert url.startswith("https://cloudformation-custom-resource-response")
    assert sent == body
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"RunId": "r1", "Report": "s3://b/r1.json"}
    assert body["PhysicalResourceId"] == "first-sweep-req-1"


def test_a_first_sweep_that_fails_fails_the_stack_with_its_reason() -> None:
    def sweep() -> dict[str, Any]:
        raise AccessDeniedError("listing s3://b/backups/: AccessDenied")

    responder = Responder()
    body = on_stack_event(stack_event("Create"), sweep, lambda: None, responder)
    assert body["Status"] == "FAILED"
    assert "AccessDeniedError: listing s3://b/backups/: AccessDenied" in body["Reason"]
    assert len(responder.sent) == 1


@pytest.mark.parametrize("kind", ["Update", "Delete"])
def test_update_and_delete_answer_at_once_without_sweeping(kind: str) -> None:
    swept: list[bool] = []
    responder = Responder()
    body = on_stack_event(
        stack_event(kind, PhysicalResourceId="first-sweep-req-0"),
        lambda: swept.append(True) or {},
        lambda: None,
        responder,
    )
    assert swept == []
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "first-sweep-req-0"


def test_only_a_custom_resource_event_is_taken_for_one() -> None:
    assert is_stack_event(stack_event("Create"))
    assert not is_stack_event({"trigger": "schedule"})
    assert not is_stack_event([])


def test_a_stack_event_is_logged_without_its_presigned_url_and_others_as_they_are() -> None:
    # given CloudFormation's event, whose ResponseURL lets its holder answer for the resource
    stack = {
        "RequestType": "Create",
        "ResponseURL": "https://cfn.s3/presigned?X-Amz-Signature=abc",
        "RequestId": "r",
    }
    schedule = {"trigger": "schedule"}
    # when each is made loggable
    logged = loggable(stack)
    # then the URL is gone, the rest stays, the event itself is untouched, and other events pass as they are
    assert "X-Amz-Signature" not in str(logged)
    assert logged["RequestId"] == "r"
    assert stack["ResponseURL"].endswith("abc")
    assert loggable(schedule) is schedule
