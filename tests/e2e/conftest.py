"""A moto S3 server seeded with the demo data set, and the real console script run against it.

The server runs in this process (so `backdate` can reach its backend) but the CLI runs as a
subprocess that talks to it over HTTP, exactly as an operator's shell would.

moto's `mock_aws` resets every in-process backend when it starts, this server's included, so the
e2e tests must not interleave with in-process tests that use it; pytest runs each directory's tests
together, which keeps them apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from sibling_sentinel.cli.demo import DEMO_BUCKET, DEMO_OBJECTS, backdate, embedded_s3, seed

CLI = Path(sys.executable).parent / "sibling-sentinel"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto S3 server holding the demo data set, aged as it asks."""
    with embedded_s3() as endpoint:
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        seed(s3)
        backdate(DEMO_BUCKET, {o.key: o.age_s for o in DEMO_OBJECTS}, datetime.now(UTC))
        yield endpoint


@pytest.fixture
def run_cli(s3_endpoint: str, tmp_path: Path) -> RunCli:
    """Runs `sibling-sentinel ARGS...` with dummy credentials and nothing from the developer's shell.

    `endpoint_env=False` leaves AWS_ENDPOINT_URL unset, for runs that pass `--endpoint-url` instead.
    """

    def run(*args: str, endpoint_env: bool = True) -> subprocess.CompletedProcess[str]:
        env = {name: os.environ[name] for name in ("PATH", "SYSTEMROOT", "TMPDIR") if name in os.environ}
        env |= CREDENTIALS
        env |= {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(tmp_path),
            "PYTHONIOENCODING": "utf-8",  # the report holds non-ASCII keys whatever the locale
        }
        if endpoint_env:
            env["AWS_ENDPOINT_URL"] = s3_endpoint
        return subprocess.run(  # a hung CLI fails the run instead of stalling it
            [str(CLI), *args], env=env, capture_output=True, text=True, encoding="utf-8", timeout=120
        )

    return run
