"""The whole flow over HTTP: `aws s3 cp` uploads, S3 -> EventBridge -> the handlers, the nightly sweep.

Objects are uploaded with the real AWS CLI, the way a backup pipeline writes them (a 9 MB tarball
goes up as a multipart upload). The moto server routes S3's events through the template's upload
rule, and `demo_stack.Stack` hands them to the real handlers as Lambda would. Then the CLI, run as a
subprocess, sweeps the same bucket and must agree with FullSweep.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sibling_sentinel.cli.demo import DAY, backdate
from sibling_sentinel.cli.demo_stack import Stack

pytestmark = pytest.mark.e2e

BUCKET, PREFIX = "flow-backups", "backups/"
BIN = Path(sys.executable).parent
MB = 1024 * 1024

# Tonight's uploads, through the event path: key under the prefix -> (bytes, listing bytes or None).
TONIGHT: dict[str, tuple[int, int | None]] = {
    "host-a/2026-11-21.tar.zst": (4096, 2048),
    "host-b/2026-11-21.tar.zst": (4096, None),  # the listing step failed
    "host-c/2026-11-21.tar.zst": (4096, 10),  # a truncated listing
    "host-d/db dump+v2 100%.tgz": (4096, 2048),  # a name that needs escaping
    "host-e/big.tar.gz": (9 * MB, 2048),  # big enough for the CLI to upload in parts
}
# Later uploads that only the sweep judges.
ORPHAN = "host-f/gone.tar.zst.list.txt"
STALE = "host-g/rewritten.tar"
PENDING = "host-h/uploading.tar.zst"


@dataclass
class Flow:
    stack: Stack
    env: dict[str, str]
    checks: list[dict[str, str]]
    check_events: list[dict[str, Any]]
    sweep: dict[str, Any]
    report: dict[str, Any]
    sweep_alerts: list[dict[str, str]]


def aws(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "aws"), *args], env=env, check=True, capture_output=True, timeout=120)


def upload(env: dict[str, str], tmp: Path, key: str, size: int) -> None:
    local = tmp / "upload.bin"
    local.write_bytes(b"x" * size)
    aws(env, "s3", "cp", str(local), f"s3://{BUCKET}/{PREFIX}{key}", "--only-show-errors")


@pytest.fixture(scope="module")
def flow(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    tmp = tmp_path_factory.mktemp("uploads")
    stack = Stack(s3_endpoint, BUCKET, PREFIX, check_delay_s=1, check_deadline_s=4)
    env = {name: os.environ[name] for name in ("PATH", "TMPDIR") if name in os.environ}
    env |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
        "HOME": str(tmp),
        "PYTHONIOENCODING": "utf-8",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        stack.create()
        env |= stack.environment()
        for name, value in stack.environment().items():
            mp.setenv(name, value)
        subprocess.run(
            [str(BIN / "sibling-sentinel"), "enable-events", "--bucket", BUCKET], env=env, check=True
        )
        # tonight: tarballs and their listings, as the backup jobs write them
        for key, (size, listing) in TONIGHT.items():
            upload(env, tmp, key, size)
            if listing is not None:
                upload(env, tmp, key + ".list.txt", listing)
        stack.deliver_uploads()
        stack.run_checks(timeout_s=60)
        checks, check_events = stack.alerts(), stack.events()
        # later: an orphaned listing, a rewritten tarball, and an upload still in progress
        upload(env, tmp, ORPHAN, 2048)
        upload(env, tmp, STALE + ".list.txt", 2048)
        upload(env, tmp, STALE, 4096)
        upload(env, tmp, PENDING, 4096)
        stack.drain("uploads")  # their checks are not what this part is about
        now = datetime.now(UTC)
        aged = {PREFIX + k: DAY for k in TONIGHT}
        aged |= {PREFIX + k + ".list.txt": DAY for k, (_, listing) in TONIGHT.items() if listing}
        aged |= {PREFIX + ORPHAN: DAY, PREFIX + STALE: DAY, PREFIX + STALE + ".list.txt": 3 * DAY}
        backdate(BUCKET, aged, now)
        # the previous night's sweep, before these uploads: tonight's sweep asks the event path about them
        stack.last_night(now - timedelta(days=2), [])
        sweep = stack.nightly_sweep()
        yield Flow(
            stack, env, checks, check_events, sweep, stack.read_report(sweep["report"]), stack.alerts()
        )


def test_uploads_were_announced_by_s3_and_reached_the_intake(flow: Flow) -> None:
    assert sum(flow.stack.metrics["SiblingCheckPassed"]) == 3  # host-a, host-d, host-e


def test_event_path_alerts_once_per_failed_upload_with_what_to_fix(flow: Flow) -> None:
    # given the uploads whose listing never came or came too short
    # then each paged exactly once, naming the tarball, the expected sibling and the verdict
    assert [a["kind"] for a in flow.checks] == ["check-failed", "check-failed"]
    texts = sorted(a["text"] for a in flow.checks)
    assert f"s3://{BUCKET}/{PREFIX}host-b/2026-11-21.tar.zst.list.txt" in texts[0]
    assert "Verdict: missing" in texts[0]
    assert "Verdict: undersized" in texts[1]
    assert "listing is 10 bytes, minimum 64" in texts[1]
    assert sum(flow.stack.metrics["SiblingCheckFailed"]) == 2
    assert sorted(e["detail"]["verdict"] for e in flow.check_events) == ["missing", "undersized"]


def test_sweep_gives_each_verdict(flow: Flow) -> None:
    got = {f["key"].removeprefix(PREFIX): f["verdict"] for f in flow.report["findings"]}
    assert got == {
        "host-b/2026-11-21.tar.zst": "missing",
        "host-c/2026-11-21.tar.zst": "undersized",
        ORPHAN: "orphan",
        STALE: "stale",
        PENDING: "pending",
    }
    assert flow.report["counts"] == {
        "tarballs": 7,
        "ok": 3,
        "pending": 1,
        "missing": 1,
        "undersized": 1,
        "stale": 1,
        "invalid": 0,
        "orphan": 1,
    }


def test_sweep_report_is_in_s3_and_the_breach_alert_points_to_it(flow: Flow) -> None:
    assert flow.sweep["report"].startswith(f"s3://{BUCKET}/sibling-sentinel/reports/")
    assert flow.report["complete"] is True
    ((alert),) = flow.sweep_alerts
    assert alert["kind"] == "sweep-breach"
    # the three verdicts, and the rewritten tarball whose upload event never reached the intake
    assert "found 4 problems; the threshold is 0" in alert["text"]
    assert "NOT CHECKED: 1 new tarballs" in alert["text"]
    assert f"s3://{BUCKET}/{PREFIX}{STALE}" in alert["text"]
    assert flow.sweep["report"] in alert["text"]


def test_sweep_metrics_count_every_verdict(flow: Flow) -> None:
    m = flow.stack.metrics
    assert (m["SweepCompleted"], m["TarballsScanned"], m["Problems"]) == ([1.0], [7.0], [4.0])
    assert m["TarballsNotChecked"] == [1.0]
    assert (m["SiblingsMissing"], m["SiblingsUndersized"], m["SiblingsStale"], m["OrphanSiblings"]) == (
        [1.0],
        [1.0],
        [1.0],
        [1.0],
    )


def test_cli_as_a_subprocess_agrees_with_full_sweep(flow: Flow) -> None:
    result = subprocess.run(
        [str(BIN / "sibling-sentinel"), "sweep", f"s3://{BUCKET}/{PREFIX}", "--format", "json"],
        env=flow.env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr  # a breach
    report = json.loads(result.stdout)
    assert report["counts"] == flow.report["counts"]
    # the CLI lists folders concurrently, so its findings may come in another order
    assert sorted(f["key"] for f in report["findings"]) == sorted(f["key"] for f in flow.report["findings"])


# --- every command an alert gives for confirming gives the answer the alert implies ----------------


def confirm_command(text: str, marker: str) -> list[str]:
    """The command after `marker` in an alert, as a shell would split it (s3:// keys may hold spaces)."""
    (line,) = [line for line in text.splitlines() if marker in line]
    command = line.split(marker, 1)[1].strip()
    url_start = command.index("s3://")
    url_end = command.index(" --", url_start)
    words = [*command[:url_start].split(), command[url_start:url_end], *command[url_end:].split()]
    assert words[0] == "sibling-sentinel"
    return [str(BIN / "sibling-sentinel"), *words[1:]]


def run(flow: Flow, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=flow.env, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False
    )


def test_the_check_failed_alerts_confirm_command_confirms_the_failure(flow: Flow) -> None:
    # given each check-failed alert
    for alert in flow.checks:
        # when its "Confirm:" command is run as written
        result = run(flow, confirm_command(alert["text"], "Confirm:"))
        # then it gives the alert's verdict, and exit 1, not "pending" and exit 0
        verdict = next(line for line in alert["text"].splitlines() if line.startswith("Verdict:")).split()[1]
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.startswith(verdict), result.stdout


def test_the_sweep_breach_alerts_confirm_command_confirms_the_breach(flow: Flow) -> None:
    ((alert),) = flow.sweep_alerts
    result = run(flow, [*confirm_command(alert["text"], "Confirm with:"), "--format", "json"])
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["breach"] is True
    assert report["counts"] == flow.report["counts"]


def test_after_the_runbooks_repair_the_same_check_says_ok(flow: Flow) -> None:
    # given the listing of the upload whose listing never came is uploaded, as the RUNBOOK says
    (alert,) = [a for a in flow.checks if "Verdict: missing" in a["text"]]
    key = next(line for line in alert["text"].splitlines() if line.startswith("Backup tarball:"))
    tarball = key.split("s3://", 1)[1].split("/", 1)[1]
    flow.stack.client("s3").put_object(Bucket=BUCKET, Key=tarball + ".list.txt", Body=b"x" * 2048)
    # when the alert's confirm command runs again, then it says ok and exits 0
    result = run(flow, confirm_command(alert["text"], "Confirm:"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok")
