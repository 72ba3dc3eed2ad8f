"""The CLI's fleet health against moto's S3: an empty prefix, an overdue host, and their flags."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from sibling_sentinel.cli.demo import DEMO_BUCKET, DEMO_OBJECTS, DEMO_PREFIX, backdate, seed
from sibling_sentinel.cli.main import main

SWEEP_URL = f"s3://{DEMO_BUCKET}/{DEMO_PREFIX}"


@pytest.fixture
def demo_bucket() -> Iterator[None]:
    with mock_aws():
        seed(boto3.client("s3", region_name="us-east-1"))
        backdate(DEMO_BUCKET, {o.key: o.age_s for o in DEMO_OBJECTS}, datetime.now(UTC))
        yield


@pytest.mark.usefixtures("demo_bucket")
def test_an_empty_prefix_exits_1_with_its_reason_and_no_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    # given a prefix with nothing under it (a typo)
    # when it is swept with a generous threshold
    code = main(["sweep", f"s3://{DEMO_BUCKET}/backpus/", "--threshold", "100"], env={})
    # then it is a breach, exit 1, with the reason on stdout and coverage 0
    out = capsys.readouterr().out
    assert code == 1
    assert "TOO FEW TARBALLS: 0 under s3://demo-backups/backpus/" in out
    assert "coverage 0.00%" in out


@pytest.mark.usefixtures("demo_bucket")
def test_min_tarballs_comes_from_the_flag_or_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sweep", SWEEP_URL, "--threshold", "100", "--format", "json"], env={"MIN_TARBALLS": "1000"})
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (report["min_tarballs"], report["volume_breach"]) == (1000, True)
    code = main(["sweep", SWEEP_URL, "--threshold", "100", "--min-tarballs", "2", "--format", "json"], env={})
    assert code == 0
    assert json.loads(capsys.readouterr().out)["volume_breach"] is False


@pytest.mark.usefixtures("demo_bucket")
def test_max_backup_age_names_the_overdue_hosts_and_counts_them(capsys: pytest.CaptureFixture[str]) -> None:
    # given the demo data set, whose host alpha has had no complete backup for two days
    # when it is swept with a 26 h maximum age
    code = main(
        ["sweep", SWEEP_URL, "--threshold", "100", "--max-backup-age", "93600", "--format", "json"], env={}
    )
    report = json.loads(capsys.readouterr().out)
    # then alpha is overdue (its tarballs keep coming without listings) and it breaches the threshold's count
    assert report["hosts_overdue"] == ["alpha"]
    assert report["overdue_reasons"] == {"alpha": "broken"}
    assert report["groups"]["alpha"]["overdue"] is True
    assert report["tarballs_not_checked"] is None  # the CLI has no event path to ask
    assert code == 0  # 100 problems allowed


@pytest.mark.usefixtures("demo_bucket")
def test_without_max_backup_age_the_text_says_freshness_was_not_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["sweep", SWEEP_URL], env={})
    assert "freshness: not checked" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--min-tarballs", "--max-backup-age"])
def test_a_negative_fleet_setting_is_refused_with_its_name(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sweep", SWEEP_URL, flag, "-1"], env={})
    assert code == 2
    assert flag in capsys.readouterr().err
