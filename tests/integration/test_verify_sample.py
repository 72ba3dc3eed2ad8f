"""VerifySample's handler under moto: tonight's share read, problems counted, missing listings repaired."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sibling_sentinel.domain.verify.sampled_verification import slot_of
from sibling_sentinel.lambda_edge import verify_wiring
from sibling_sentinel.lambda_edge.handlers import verify_sample

from stack import BUCKET, REPORTS, LambdaContext, Stack, emf
from tar_tools import make_tarball, make_tree, some_files, tar_t


@pytest.fixture(autouse=True)
def _fresh_service() -> Any:
    verify_wiring.sampled_verification.cache_clear()
    yield
    verify_wiring.sampled_verification.cache_clear()


@pytest.fixture
def tarball(tmp_path: Path) -> Path:
    return make_tarball(make_tree(tmp_path / "t", some_files()), tmp_path / "n.tar.gz", "gzip")


def put(stack: Stack, key: str, body: bytes) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def invoke(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for var, value in {"VERIFY_CYCLE_NIGHTS": "1", "GRACE_SECONDS": "0", **env}.items():
        monkeypatch.setenv(var, value)
    result: dict[str, Any] = verify_sample.handler({"trigger": "schedule"}, LambdaContext("VerifySample"))
    return result


def report_of(stack: Stack, result: dict[str, Any]) -> dict[str, Any]:
    key = result["report"].removeprefix(f"s3://{REPORTS}/")
    doc: dict[str, Any] = json.loads(stack.s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())
    return doc


def test_a_night_counts_a_truncated_listing_and_a_corrupt_tarball(
    stack: Stack, tarball: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a good tarball, one whose listing lost its second half, and one cut short
    body, listing = tarball.read_bytes(), tar_t(tarball)
    put(stack, "backups/h1/good.tar.gz", body)
    put(stack, "backups/h1/good.tar.gz.list.txt", listing)
    put(stack, "backups/h2/short.tar.gz", body)
    put(stack, "backups/h2/short.tar.gz.list.txt", listing[: len(listing) // 2])
    put(stack, "backups/h3/cut.tar.gz", body[: len(body) // 2])
    put(stack, "backups/h3/cut.tar.gz.list.txt", listing)

    # when the nightly verification runs with a one-night cycle
    result = invoke(monkeypatch, VERIFY_BUDGET_BYTES="1000000")

    # then all three were read; one listing mismatch and one corrupt tarball are counted and reported
    assert result["verified"] == 3
    assert result["listing_mismatches"] == 1
    assert result["corrupt"] == 1
    metrics = emf(capsys.readouterr().out)
    assert metrics["TarballsVerified"] in (3.0, [3.0])
    assert metrics["ListingMismatches"] in (1.0, [1.0])
    assert metrics["TarballsCorrupt"] in (1.0, [1.0])
    verdicts = {v["key"]: v["verdict"] for v in report_of(stack, result)["verified"]}
    assert verdicts == {
        "backups/h1/good.tar.gz": "ok",
        "backups/h2/short.tar.gz": "mismatch",
        "backups/h3/cut.tar.gz": "corrupt",
    }


def test_auto_repair_writes_a_missing_listing_and_lists_it(
    stack: Stack, tarball: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tarball whose listing was never written
    put(stack, "backups/h1/lost.tar.gz", tarball.read_bytes())

    # when the nightly verification runs with AutoRepair=missing
    result = invoke(monkeypatch, VERIFY_BUDGET_BYTES="1000000", AUTO_REPAIR="missing")

    # then the listing is written as tar -t prints it, counted and listed in the report
    assert result["repaired"] == 1
    body = stack.s3.get_object(Bucket=BUCKET, Key="backups/h1/lost.tar.gz.list.txt")["Body"].read()
    assert body == tar_t(tarball)
    (repair,) = report_of(stack, result)["repairs"]
    assert (repair["key"], repair["action"], repair["condition"]) == (
        "backups/h1/lost.tar.gz",
        "written",
        "If-None-Match: *",
    )
    assert emf(capsys.readouterr().out)["ListingsRepaired"] in (1.0, [1.0])


def test_without_auto_repair_a_missing_listing_is_reported_not_written(
    stack: Stack, tarball: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(stack, "backups/h1/lost.tar.gz", tarball.read_bytes())
    result = invoke(monkeypatch, VERIFY_BUDGET_BYTES="1000000")
    assert result["repaired"] == 0
    assert report_of(stack, result)["verified"][0]["verdict"] == "missing"
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="backups/h1/lost.tar.gz.list")


def test_tarballs_past_the_budget_are_named_newest_first(
    stack: Stack, tarball: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three tarballs in tonight's slot and a budget for one of them
    body, listing = tarball.read_bytes(), tar_t(tarball)
    for day in ("01", "02", "03"):
        put(stack, f"backups/h1/2026-11-{day}.tar.gz", body)
        put(stack, f"backups/h1/2026-11-{day}.tar.gz.list.txt", listing)

    # when the night runs
    result = invoke(monkeypatch, VERIFY_BUDGET_BYTES=str(len(body) + 10))

    # then the newest was verified, and the other two are named as not verified, never as ok
    report = report_of(stack, result)
    assert [v["key"] for v in report["verified"]] == ["backups/h1/2026-11-03.tar.gz"]
    assert {n["key"] for n in report["not_verified"]} == {
        "backups/h1/2026-11-01.tar.gz",
        "backups/h1/2026-11-02.tar.gz",
    }
    assert all("budget" in n["reason"] for n in report["not_verified"])


def test_a_tarball_too_big_for_one_invocation_is_skipped_and_named(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a bzip2 tarball bigger than one invocation can read at bzip2's measured speed
    from sibling_sentinel.domain.verify import sampled_verification

    monkeypatch.setitem(sampled_verification.VERIFY_BYTES_PER_S, "bzip2", 1.0)
    put(stack, "backups/h1/huge.tar.bz2", b"x" * 2000)
    put(stack, "backups/h1/huge.tar.bz2.list.txt", b"whatever\n")

    # when the night runs
    result = invoke(monkeypatch, VERIFY_BUDGET_BYTES="1000000")

    # then it is not verified, and the report says why
    assert result["verified"] == 0
    (skipped,) = report_of(stack, result)["not_verified"]
    assert skipped["key"] == "backups/h1/huge.tar.bz2"
    assert skipped["reason"].startswith("too big for one invocation")


def test_only_tonight_s_slot_is_read(stack: Stack, tarball: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given tarballs spread over a 3-night cycle
    body, listing = tarball.read_bytes(), tar_t(tarball)
    keys = [f"backups/h{i}/n.tar.gz" for i in range(9)]
    for key in keys:
        put(stack, key, body)
        put(stack, key + ".list.txt", listing)

    # when tonight's run happens
    result = invoke(monkeypatch, VERIFY_BUDGET_BYTES="100000000", VERIFY_CYCLE_NIGHTS="3")

    # then exactly the tarballs whose slot is tonight were read
    night = datetime.now(UTC).date().toordinal() % 3
    expected = {k for k in keys if slot_of(k, 3) == night}
    assert {v["key"] for v in report_of(stack, result)["verified"]} == expected
