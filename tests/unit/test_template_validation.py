"""Offline validation of template.yaml and the Lambda bundle's requirements, all inside `make test`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from template_tools import ROOT, TEMPLATE, transformed

# checkov pins an older boto3, so the Makefile installs it into a venv of its own.
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
# The SAM CLI pins its own boto3 too; the Makefile installs it into .venv-sam.
SAM = Path(os.environ.get("SAM", ROOT / ".venv-sam" / "bin" / "sam"))


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False, cwd=ROOT)


def test_cfn_lint_passes_on_the_sam_template() -> None:
    result = run(CFN_LINT, TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_passes_on_the_template_as_sam_transforms_it(tmp_path: Path) -> None:
    # given the template as SAM deploys it (cfn-lint 1.54+ no longer lints SAM's output itself)
    out = tmp_path / "transformed.json"
    out.write_text(json.dumps(transformed()), encoding="utf-8")
    # when it is linted
    result = run(CFN_LINT, out)
    # then it is clean
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_and_every_skip_is_justified() -> None:
    if not CHECKOV.exists():
        pytest.fail(f"checkov not found at {CHECKOV}; `make test` installs it into .venv-checkov")
    result = run(
        CHECKOV, "-f", TEMPLATE, "--framework", "cloudformation", "--skip-download", "--compact", "--quiet"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    skips = TEMPLATE.read_text(encoding="utf-8").count("- id: CKV_")
    comments = [line for line in TEMPLATE.read_text(encoding="utf-8").splitlines() if "comment:" in line]
    assert skips == len(comments)


def test_sam_validate_passes_without_credentials() -> None:
    # without --lint: that is the cfn-lint of the first test again (`make validate` keeps it)
    if not SAM.exists():
        pytest.fail(f"the SAM CLI not found at {SAM}; `make test` installs it into .venv-sam")
    result = subprocess.run(
        [str(SAM), "validate", "--template-file", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_lambda_requirements_are_generated_from_pyproject() -> None:
    result = run(sys.executable, ROOT / "infra" / "lambda_requirements.py", "--check")
    assert result.returncode == 0, result.stderr


def test_lambda_bundle_holds_no_cli_or_dev_dependency() -> None:
    bundled = (ROOT / "functions" / "requirements.txt").read_text(encoding="utf-8").lower()
    for cli_or_dev in ("moto", "pytest", "hypothesis", "ruff", "mypy", "boto3-stubs", "aws-xray-sdk"):
        assert cli_or_dev not in bundled
    assert "aws-lambda-powertools" in bundled
