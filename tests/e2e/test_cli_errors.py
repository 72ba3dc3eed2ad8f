"""Errors that say what to change: each one line on stderr, with its documented exit code, from the real
console script. Each run's AWS environment is built from nothing, so nothing of this machine's leaks in."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CLI
from sibling_sentinel.cli.demo import DEMO_BUCKET, DEMO_PREFIX
from sibling_sentinel.cli.main import CREDENTIALS_SOUGHT

pytestmark = pytest.mark.e2e

SWEEP_URL = f"s3://{DEMO_BUCKET}/{DEMO_PREFIX}"


def run(tmp_path: Path, *args: str, credentials: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """The console script with an AWS environment of its own: no config files, no instance metadata."""
    base = {name: os.environ[name] for name in ("PATH", "SYSTEMROOT", "TMPDIR") if name in os.environ}
    base |= {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "HOME": str(tmp_path),
        "PYTHONIOENCODING": "utf-8",
    }
    if credentials:
        base |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return subprocess.run(
        [str(CLI), *args], env=base | env, capture_output=True, text=True, encoding="utf-8", timeout=120
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture
def bucket_in_another_region() -> Iterator[str]:
    """An endpoint that answers as S3 does for a bucket in eu-west-1 asked in another region."""
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket '
        b"you are attempting to access must be addressed using the specified endpoint.</Message>"
        b"<Endpoint>demo-backups.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>demo-backups</Bucket></Error>"
    )

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(301)
            self.send_header("x-amz-bucket-region", "eu-west-1")
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("endpoint", "line"),
    [
        # written without http://: both ways to write it
        (
            "127.0.0.1:1",
            "--endpoint-url '127.0.0.1:1' needs a scheme: write http://127.0.0.1:1 or https://127.0.0.1:1",
        ),
        # given as "" (a shell variable never set): a usage error, not an internal one
        ("", "--endpoint-url is empty: give the endpoint's URL (https://... or http://...), or leave it out"),
    ],
)
def test_an_endpoint_that_is_no_url_says_what_to_write(tmp_path: Path, endpoint: str, line: str) -> None:
    # given an endpoint flag that is no URL
    # when a sweep is asked for
    result = run(tmp_path, "sweep", SWEEP_URL, "--endpoint-url", endpoint)

    # then it exits 2 with one line that says what to write, before anything is listed
    assert result.returncode == 2
    assert one_line(result) == f"sibling-sentinel: error: {line}\n"


def test_an_endpoint_variable_without_a_scheme_is_named(tmp_path: Path) -> None:
    # given AWS_ENDPOINT_URL written without a scheme
    # when a sweep is asked for
    result = run(tmp_path, "sweep", SWEEP_URL, AWS_ENDPOINT_URL="localhost:9000")

    # then the variable is named
    assert result.returncode == 2
    assert one_line(result) == (
        "sibling-sentinel: error: AWS_ENDPOINT_URL 'localhost:9000' needs a scheme: "
        "write http://localhost:9000 or https://localhost:9000\n"
    )


@pytest.mark.parametrize(
    ("args", "env"), [((), {"AWS_PROFILE": "prod"}), (("--profile", "prod"), {})], ids=["variable", "flag"]
)
def test_an_unknown_profile_is_named_with_where_profiles_live(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    # given a profile that is in no AWS config file
    # when a sweep is asked for with it
    result = run(tmp_path, "sweep", SWEEP_URL, *args, **env)

    # then it exits 2 and says where it looked
    assert result.returncode == 2
    assert one_line(result) == (
        "sibling-sentinel: error: the AWS profile 'prod' (--profile or AWS_PROFILE) is not in ~/.aws/config "
        "or ~/.aws/credentials; `aws configure list-profiles` lists those there are\n"
    )


def test_a_profile_from_the_config_file_is_used(tmp_path: Path, s3_endpoint: str) -> None:
    # given a profile whose credentials are in the shared credentials file, and none in the environment
    (tmp_path / "no-aws-credentials").write_text("[ci]\naws_access_key_id = a\naws_secret_access_key = b\n")

    # when a sweep uses it with --profile
    result = run(
        tmp_path,
        "sweep",
        SWEEP_URL,
        "--profile",
        "ci",
        "--quiet",
        credentials=False,
        AWS_ENDPOINT_URL=s3_endpoint,
    )

    # then the sweep runs (a breach: the demo data set has problems)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("problems ")


def test_an_invalid_bucket_name_is_one_line_with_the_naming_rule(tmp_path: Path) -> None:
    # given a bucket name with a space
    # when a sweep is asked for
    result = run(tmp_path, "sweep", "s3://My Backups/backups/", "--endpoint-url", "http://127.0.0.1:1")

    # then it exits 2 with the rule, in one line
    assert result.returncode == 2
    assert one_line(result) == (
        "sibling-sentinel: error: 'My Backups' is not an S3 bucket name: bucket names are 3 to 63 lower-case "
        "letters, digits, dots and hyphens (older ones may also have upper case and underscores), "
        "with no spaces or '/'\n"
    )


@pytest.mark.parametrize("command", ["sweep", "check"])
def test_a_bucket_in_another_region_names_the_right_one(
    tmp_path: Path, bucket_in_another_region: str, command: str
) -> None:
    # given an endpoint that says the bucket is in eu-west-1
    url = SWEEP_URL if command == "sweep" else f"{SWEEP_URL}host/a.tar"

    # when it is swept (or checked) in us-east-1
    result = run(tmp_path, command, url, "--region", "us-east-1", "--endpoint-url", bucket_in_another_region)

    # then it exits 2 and names the region to use
    assert result.returncode == 2
    what = "listing s3://demo-backups/backups/" + ("" if command == "sweep" else "host/a.tar")
    assert one_line(result) == (
        f"sibling-sentinel: error: {what}: the bucket is in region eu-west-1; "
        "use --region eu-west-1 (or AWS_REGION=eu-west-1)\n"
    )


def test_no_credentials_says_where_they_were_looked_for(tmp_path: Path) -> None:
    # given no credentials anywhere: no variables, no files, no instance metadata
    # when a sweep is asked for
    result = run(tmp_path, "sweep", SWEEP_URL, "--endpoint-url", "http://127.0.0.1:1", credentials=False)

    # then it exits 2 and lists where it looked
    assert result.returncode == 2
    assert one_line(result) == f"sibling-sentinel: error: no AWS credentials found: {CREDENTIALS_SOUGHT}\n"
    assert "AWS_ACCESS_KEY_ID" in CREDENTIALS_SOUGHT
    assert "~/.aws/credentials" in CREDENTIALS_SOUGHT


def test_a_closed_pipe_ends_the_sweep_quietly(tmp_path: Path, s3_endpoint: str) -> None:
    # given a reader that goes away before the report is written, as `| head` does once it has enough
    env = {"AWS_ENDPOINT_URL": s3_endpoint}
    with subprocess.Popen(
        [str(CLI), "sweep", SWEEP_URL, "--format", "json"],
        env={**os.environ, **env, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as sweep:
        assert sweep.stdout is not None
        sweep.stdout.close()  # the sweep is still starting: it lists for a second before it writes
        # when the sweep writes its report
        err = sweep.stderr.read() if sweep.stderr is not None else b""
        sweep.wait(timeout=120)

    # then it exits 141, as a Unix tool does, and says nothing
    assert sweep.returncode == 141
    assert err == b""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("sweep", SWEEP_URL, "--threshold", "many"),
            "sibling-sentinel sweep: error: argument --threshold: invalid int value: 'many'; "
            "usage: sibling-sentinel sweep [options] s3://BUCKET/PREFIX (see --help)\n",
        ),
        (
            ("check", SWEEP_URL + "a.tar", "--grace", "2h"),
            "sibling-sentinel check: error: argument --grace: invalid int value: '2h'; "
            "usage: sibling-sentinel check [options] s3://BUCKET/KEY (see --help)\n",
        ),
        (
            ("check", SWEEP_URL + "a.tar", "--max-findings", "3"),
            "sibling-sentinel: error: unrecognized arguments: --max-findings 3; usage: sibling-sentinel "
            "[options] {sweep,check,enable-events,restore-candidate,verify,repair,demo} (see --help)\n",
        ),
        (
            ("sweep", SWEEP_URL, "--max-findings", "-1"),
            "sibling-sentinel sweep: error: argument --max-findings: '-1' must be 0 or more; "
            "usage: sibling-sentinel sweep [options] s3://BUCKET/PREFIX (see --help)\n",
        ),
    ],
    ids=["not-an-integer", "not-seconds", "not-this-commands-flag", "negative"],
)
def test_a_bad_flag_value_is_its_own_message_and_the_usage_in_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    # given a flag given a value it cannot take
    # when the command is run
    result = run(tmp_path, *args)

    # then it exits 2 with one line: the flag's message and the usage in short
    assert result.returncode == 2
    assert one_line(result) == message
