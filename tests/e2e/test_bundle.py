"""The Lambda bundle as `sam build` makes it, run on its own against the moto server.

`sam build` needs a Python 3.12 interpreter (or Docker), which CI does not have, so the bundle is
made the way SAM's Python builder makes it: the generated functions/requirements.txt installed with
pip for arm64 and Python 3.12, plus the package source without the CLI's `cli/`, as `make build`
leaves it (infra/lambda_bundle.py, which both use). Every handler imports from it, and FullSweep
runs in an interpreter that sees only the standard library, that bundle and boto3 (which the
Lambda runtime provides), so a dependency missing from requirements.txt fails here as it would in Lambda.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from sibling_sentinel.cli.demo import DEMO_BUCKET, DEMO_PREFIX

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra"))
import lambda_bundle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
RUN_HANDLER = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from sibling_sentinel.lambda_edge.handlers import check_siblings, full_sweep, on_tarball_created
from sibling_sentinel.lambda_edge.handlers import sweep_map, verify_sample
assert "sibling_sentinel.cli" not in sys.modules

class Context:
    function_name = "FullSweep"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:FullSweep"
    aws_request_id = "bundle-test-run"
    def get_remaining_time_in_millis(self):
        return 600_000

print("RESULT " + json.dumps(full_sweep.handler({"trigger": "schedule"}, Context())))
"""


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the function bundle, a folder standing in for the runtime's own boto3)."""
    root = tmp_path_factory.mktemp("sam-build")
    code, runtime = root / "FullSweep", root / "runtime"
    lambda_bundle.install_requirements(code)
    lambda_bundle.copy_source(code)
    runtime.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source, target_is_directory=source.is_dir())
    return code, runtime


def test_bundle_holds_no_cli_or_dev_dependency(bundle: tuple[Path, Path]) -> None:
    names = {p.name.lower() for p in bundle[0].iterdir()}
    assert not (bundle[0] / "sibling_sentinel" / "cli").exists()
    assert (bundle[0] / "sibling_sentinel" / "lambda_edge" / "handlers").is_dir()
    for unwanted in ("moto", "pytest", "hypothesis", "boto3", "botocore", "aws_xray_sdk", "mypy"):
        assert unwanted not in names
    assert "aws_lambda_powertools" in names


def test_full_sweep_runs_from_the_bundle_alone(bundle: tuple[Path, Path], s3_endpoint: str) -> None:
    # given the moto server with the demo backups, a report bucket and an alert topic
    clients = {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}
    boto3.client("s3", **clients).create_bucket(Bucket="bundle-reports")
    topic = boto3.client("sns", **clients).create_topic(Name="bundle-alerts")["TopicArn"]
    env = {name: os.environ[name] for name in ("PATH", "TMPDIR") if name in os.environ}
    env |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "BACKUP_BUCKET": DEMO_BUCKET,
        "BACKUP_PREFIX": DEMO_PREFIX,
        "REPORT_BUCKET": "bundle-reports",
        "ALERT_TOPIC_ARN": topic,
        "POWERTOOLS_SERVICE_NAME": "sibling-sentinel",
        "POWERTOOLS_METRICS_NAMESPACE": "SiblingSentinel",
    }
    # when the handler runs in an interpreter that sees only the stdlib, the bundle and boto3
    code, runtime = bundle
    result = subprocess.run(
        [sys.executable, "-S", "-c", RUN_HANDLER, str(code), str(runtime)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # then it completes the sweep, writes the report and emits EMF
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    summary = json.loads(line.removeprefix("RESULT "))
    assert summary["complete"] is True
    assert summary["report"].startswith("s3://bundle-reports/sibling-sentinel/reports/")
    assert '"SweepCompleted"' in result.stdout
