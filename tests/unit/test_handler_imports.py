"""Which modules a cold start brings in: each handler imports what it uses."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sibling_sentinel.lambda_edge.handlers

IDEMPOTENCY = "aws_lambda_powertools.utilities.idempotency"
HANDLERS = sorted(
    p.stem
    for p in Path(sibling_sentinel.lambda_edge.handlers.__file__).parent.glob("*.py")
    if p.stem != "__init__"
)


def modules_after(code: str) -> set[str]:
    """sys.modules of a fresh interpreter once `code` has run: a cold start, as Lambda's init does it."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_every_handler_module_is_measured() -> None:
    # given the handlers folder; when it is listed; then it holds the five Lambda entry modules
    assert HANDLERS == ["check_siblings", "full_sweep", "on_tarball_created", "sweep_map", "verify_sample"]


@pytest.mark.parametrize("handler", HANDLERS)
def test_importing_a_handler_leaves_powertools_idempotency_out(handler: str) -> None:
    # given a fresh interpreter
    # when it imports the handler, as Lambda's init phase does
    loaded = modules_after(f"import sibling_sentinel.lambda_edge.handlers.{handler}")
    # then the handler is loaded with its Powertools logger, and Idempotency (DynamoDB's model) is not
    assert f"sibling_sentinel.lambda_edge.handlers.{handler}" in loaded
    assert "aws_lambda_powertools.logging" in loaded
    assert not {m for m in loaded if m == IDEMPOTENCY or m.startswith(IDEMPOTENCY + ".")}


def test_the_check_brings_idempotency_in_when_it_builds_its_guard() -> None:
    # given a fresh interpreter with the CheckSiblings handler imported
    code = (
        "import boto3\n"
        "import sibling_sentinel.lambda_edge.handlers.check_siblings\n"
        "from sibling_sentinel.adapters.once import once_per_step\n"
        "once_per_step(boto3.client('dynamodb', region_name='us-east-1'), 'checks', keep_s=60)"
    )
    # when its at-most-once guard is built, as wiring.checker does on the first batch
    loaded = modules_after(code)
    # then Powertools Idempotency and its DynamoDB store are loaded
    assert IDEMPOTENCY in loaded
    assert f"{IDEMPOTENCY}.persistence.dynamodb" in loaded


SWEEP_ONLY = {
    "sibling_sentinel.domain.sweep.full_sweep",
    "sibling_sentinel.domain.sweep.sweep_map",
    "sibling_sentinel.domain.inventory.inventory",
    "sibling_sentinel.adapters.reports",
    "sibling_sentinel.adapters.map_files",
}


@pytest.mark.parametrize("handler", ["check_siblings", "on_tarball_created"])
def test_the_event_path_handlers_leave_the_sweeps_services_out(handler: str) -> None:
    # given a fresh interpreter
    # when it imports one of the event path's handlers
    loaded = modules_after(f"import sibling_sentinel.lambda_edge.handlers.{handler}")
    # then FullSweep, SweepMap, the inventory and the report writers are not among its modules
    assert "sibling_sentinel.lambda_edge.wiring" in loaded
    assert not SWEEP_ONLY & loaded
