"""The installed `sibling-sentinel` console script, run as a subprocess against a moto S3 server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable

import pytest

from sibling_sentinel.cli.demo import DEMO_BUCKET, DEMO_OBJECTS, DEMO_PREFIX, expected_verdicts

pytestmark = pytest.mark.e2e

SWEEP_URL = f"s3://{DEMO_BUCKET}/{DEMO_PREFIX}"
RunCli = Callable[..., subprocess.CompletedProcess[str]]  # the `run_cli` fixture


def test_sweep_within_the_threshold_exits_0(run_cli: RunCli) -> None:
    # given the seeded demo bucket

    # when it is swept with a threshold above its problem count
    result = run_cli("sweep", SWEEP_URL, "--threshold", "100")

    # then it exits 0 and says it is within the threshold
    assert result.returncode == 0, result.stderr
    assert "(threshold 100): within threshold" in result.stdout


def test_sweep_above_the_default_threshold_exits_1(run_cli: RunCli) -> None:
    # given the seeded demo bucket, which has problems

    # when it is swept with the default threshold of 0
    result = run_cli("sweep", SWEEP_URL)

    # then it exits 1 and reports the breach
    assert result.returncode == 1, result.stderr
    assert "(threshold 0): BREACH" in result.stdout


@pytest.mark.parametrize(
    "args",
    [("sweep", "not-a-url"), ("sweep", SWEEP_URL, "--no-such-flag")],
    ids=["not-an-s3-url", "unknown-flag"],
)
def test_bad_usage_exits_2(run_cli: RunCli, args: tuple[str, ...]) -> None:
    # given a command line the CLI cannot run

    # when it is run
    result = run_cli(*args)

    # then it exits 2 with the reason on stderr and nothing on stdout
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error:" in result.stderr


def test_sweep_of_a_bucket_that_does_not_exist_exits_3_with_one_line(run_cli: RunCli) -> None:
    # given a bucket nobody created

    # when it is swept
    result = run_cli("sweep", "s3://no-such-bucket/backups/")

    # then it exits 3 with one line on stderr naming the cause
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "NoSuchBucket" in result.stderr


def test_json_sweep_gives_the_expected_verdict_for_every_demo_key(run_cli: RunCli) -> None:
    # given the seeded demo bucket, whose every key has a known verdict
    expected = expected_verdicts()

    # when it is swept with JSON output
    result = run_cli("sweep", SWEEP_URL, "--format", "json")

    # then stdout is exactly one JSON object (json.loads rejects anything after it), and nothing else is said
    report = json.loads(result.stdout)
    assert isinstance(report, dict)
    assert result.stderr == ""
    assert result.returncode == 1
    # and every key has its expected verdict: a finding when it is not ok, none when it is
    found = {f["key"]: f["verdict"] for f in report["findings"]}
    assert {key: found.get(key, "ok") for key in expected} == expected
    assert set(found) <= set(expected)
    # and the counts are those of the expected verdicts
    want = Counter(expected.values())
    assert report["counts"] == {
        "tarballs": sum(n for verdict, n in want.items() if verdict != "orphan"),
        **{v: want[v] for v in ("ok", "pending", "missing", "undersized", "stale", "invalid", "orphan")},
    }
    # and only the objects under the prefix folder were listed, never those under backups-old/
    assert report["objects_listed"] == sum(1 for o in DEMO_OBJECTS if o.key.startswith(DEMO_PREFIX))
    assert report["objects_listed"] < len(DEMO_OBJECTS)


def test_the_endpoint_url_flag_works_without_the_environment_variable(
    run_cli: RunCli, s3_endpoint: str
) -> None:
    # given no AWS_ENDPOINT_URL in the environment

    # when the sweep is pointed at the server with --endpoint-url
    result = run_cli(
        "sweep", SWEEP_URL, "--format", "json", "--endpoint-url", s3_endpoint, endpoint_env=False
    )

    # then it reaches the server and sweeps the demo bucket
    report = json.loads(result.stdout)
    assert result.returncode == 1, result.stderr
    assert report["objects_listed"] == sum(1 for o in DEMO_OBJECTS if o.key.startswith(DEMO_PREFIX))


def test_a_sweep_on_worker_processes_reports_what_a_sweep_in_one_process_does(run_cli: RunCli) -> None:
    # given the seeded demo bucket, odd keys included

    # when it is swept on two worker processes, and in this one process only
    on_workers = run_cli("sweep", SWEEP_URL, "--format", "json", "--processes", "2", "--concurrency", "8")
    in_one = run_cli("sweep", SWEEP_URL, "--format", "json", "--processes", "1", "--concurrency", "8")

    # then both exit the same way, with the same report, finding for finding (shards finish in any order)
    reports = []
    for result in (on_workers, in_one):
        assert result.returncode == 1, result.stderr
        assert result.stderr == ""
        report = json.loads(result.stdout)
        report.pop("duration_s")
        report.pop("started_at")
        report["findings"].sort(key=lambda f: (f["key"], f["rule"]))
        reports.append(report)
    assert reports[0] == reports[1]
    assert reports[0]["objects_listed"] == sum(1 for o in DEMO_OBJECTS if o.key.startswith(DEMO_PREFIX))


def test_a_sweep_on_worker_processes_that_cannot_list_exits_3_with_one_line(run_cli: RunCli) -> None:
    # given a bucket nobody created
    # when it is swept on worker processes
    result = run_cli("sweep", "s3://no-such-bucket/backups/", "--processes", "2")
    # then the workers' error is the sweep's: exit 3, one line naming the cause
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "NoSuchBucket" in result.stderr


def test_python_dash_m_runs_the_same_cli_as_the_console_script() -> None:
    # given a checkout where only `python -m` is at hand (the benches run the previous release this way)
    # when the CLI package is run as a module
    done = subprocess.run(
        [sys.executable, "-m", "sibling_sentinel.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    # then it is the console script's CLI
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sibling-sentinel ")
