"""`restore-candidate` as a CI restore step runs it: the console script, stdout captured into a variable."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import boto3
import pytest

from fakes import manifest_body

pytestmark = pytest.mark.e2e

BUCKET = "corpus-snapshots"
RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def snapshots(s3_endpoint: str) -> str:
    """Three snapshots on the server: format 3, a newer format 4, and a newest one with a broken manifest."""
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=BUCKET)
    for name, version, created_at in (
        ("2026-11-19", 3, "2026-11-19T02:00:00Z"),
        ("2026-11-20", 4, "2026-11-20T02:00:00Z"),
    ):
        s3.put_object(Bucket=BUCKET, Key=f"corpus/{name}.tgz", Body=b"tar bytes")
        body = manifest_body(f"{name}.tgz", corpus_format_version=version, created_at=created_at)
        s3.put_object(Bucket=BUCKET, Key=f"corpus/{name}.manifest.json", Body=body)
    s3.put_object(Bucket=BUCKET, Key="corpus/2026-11-21.tgz", Body=b"tar bytes")
    s3.put_object(Bucket=BUCKET, Key="corpus/2026-11-21.manifest.json", Body=b'{"schema_version": 1')
    return f"s3://{BUCKET}/corpus/"


def test_a_ci_step_gets_the_newest_restorable_uri_on_stdout(run_cli: RunCli, snapshots: str) -> None:
    # when a format-3 reader asks, as `uri=$(sibling-sentinel restore-candidate ...)` would
    result = run_cli("restore-candidate", snapshots, "--reader-supports", "3")
    # then stdout is exactly one URI, the format-3 snapshot, and it exits 0
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"s3://{BUCKET}/corpus/2026-11-19.tgz\n"


def test_a_ci_step_fails_closed_when_nothing_qualifies(run_cli: RunCli, snapshots: str) -> None:
    # when a reader of a format nobody wrote asks
    result = run_cli("restore-candidate", snapshots, "--reader-supports", "7")
    # then it exits 1 with the reason on stderr and an empty stdout
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no backup under" in result.stderr
    assert "1 invalid manifest" in result.stderr
