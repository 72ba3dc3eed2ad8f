"""Inventory mode against moto's S3: AWS-shaped inventory files in a destination bucket, read by the
adapter, sorted, and reconciled; the report must equal a listing sweep's of the same objects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ResponseStreamingError
from moto import mock_aws

from sibling_sentinel.adapters.inventory import S3InventoryFiles
from sibling_sentinel.adapters.s3 import S3Lister
from sibling_sentinel.cli.demo import backdate
from sibling_sentinel.cli.main import main
from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.inventory.inventory import Inventory
from sibling_sentinel.domain.sweep.sweep import Sweep
from sibling_sentinel.errors import AccessDeniedError, StorageError
from sibling_sentinel.lambda_edge.handlers import full_sweep

from fakes import SerialPool
from inventory_files import inventory, manifest, manifest_key
from stack import BUCKET, REPORTS, FailWith, LambdaContext, Stack

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEST = "inventory-dest"
NOW = datetime.now(UTC)
DAY = 86400
ODD = "backups/odd/"
OBJECTS: dict[str, tuple[int, int]] = {  # key -> (size, age in seconds)
    "backups/h1/ok.tar.zst": (5000, DAY),
    "backups/h1/ok.tar.zst.list.txt": (300, DAY),
    "backups/h1/small.tar": (5000, DAY),
    "backups/h1/small.tar.list.txt": (10, DAY),
    "backups/h2/no-listing.tgz": (5000, DAY),
    "backups/h2/orphan.tgz.list.txt": (300, DAY),
    "backups/h3/young.tar": (5000, 600),
    f"{ODD}db dump v2.tar": (5000, DAY),
    f"{ODD}db dump v2.tar.list.txt": (300, DAY),
    f"{ODD}a+b.tar": (5000, DAY),
    f"{ODD}a b.tar.list.txt": (300, DAY),  # a space where the tarball has a plus: not its listing
    f"{ODD}100%.tar": (5000, DAY),
    f"{ODD}100%.tar.list.txt": (300, DAY),
    f"{ODD}%%2B+ %20.tar": (5000, DAY),
    f"{ODD}résumé.tar.gz": (5000, DAY),
    f"{ODD}résumé.tar.gz.list.txt": (300, DAY),
    f"{ODD}日本語のバックアップ.tar": (5000, DAY),
    f"{ODD}emoji-\U0001f600.tar": (5000, DAY),
    f"{ODD}notes & <markup> \"quoted\" 'single'.tar": (5000, DAY),
    f"{ODD}notes & <markup> \"quoted\" 'single'.tar.list.txt": (300, DAY),
    ODD + "k" * (1024 - len(ODD) - len(".tar")) + ".tar": (5000, DAY),  # S3's longest key: 1,024 bytes
    "backups-old/h/elsewhere.tar": (5000, DAY),
}


def seed(s3: S3Client, bucket: str) -> list[ListedObject]:
    """The objects in S3, backdated, and as a listing reports them (the inventory is built from that)."""
    for key, (size, _) in OBJECTS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * size)
    backdate(bucket, {k: age for k, (_, age) in OBJECTS.items()}, NOW)
    return [o for page in S3Lister(s3).pages(bucket, "") for o in page]


def put_inventory(s3: S3Client, source: str, objects: list[ListedObject], **files: Any) -> str:
    bodies = inventory(source, objects, NOW, **files)
    for key, body in bodies.items():
        s3.put_object(Bucket=DEST, Key=key, Body=body)
    return f"s3://{DEST}/{manifest_key(bodies)}"


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.create_bucket(Bucket=DEST)
        yield client


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """Timing aside, and findings in key order (the CLI's listing sweep runs folder shards at once)."""
    same = {k: v for k, v in report.items() if k not in {"started_at", "duration_s"}}
    same["findings"] = sorted(report["findings"], key=lambda f: (f["key"], f["rule"]))
    return same


def test_inventory_sweep_reports_exactly_what_a_listing_sweep_reports(s3: S3Client) -> None:
    # given odd keys in S3, and an inventory of them in 4 shuffled data files in another bucket
    objects = seed(s3, BUCKET)
    uri = put_inventory(s3, BUCKET, objects, n_files=4)
    policy = Config().policy()
    clock = lambda: NOW  # noqa: E731
    listing = Sweep(S3Lister(s3), policy, 0, 1, clock).run(BUCKET, "backups/")
    # when the prefix is swept from the inventory, spilling runs of 3 rows read by 2 readers
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    inv = Inventory.open(S3InventoryFiles(s3), bucket, key, BUCKET, SerialPool(), readers=2, run_rows=6)
    swept = Sweep(inv, policy, 0, 1, clock, as_of=inv.created_at).run(BUCKET, "backups/")
    # then the reports agree on counts, groups, findings and objects listed
    assert swept.to_dict() == listing.to_dict()
    counts = swept.to_counts()
    assert (counts["tarballs"], counts["ok"], counts["missing"], counts["undersized"]) == (13, 5, 6, 1)
    assert (counts["pending"], counts["orphan"]) == (1, 2)
    assert {f["key"] for f in swept.findings} >= {f"{ODD}a+b.tar", f"{ODD}a b.tar.list.txt"}


def test_cli_sweep_with_inventory_prints_the_listing_sweeps_json(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the same objects and their inventory
    uri = put_inventory(s3, BUCKET, seed(s3, BUCKET))
    main(["sweep", f"s3://{BUCKET}/backups/", "--format", "json"], env={})
    listed = json.loads(capsys.readouterr().out)
    # when swept through the CLI from the inventory, with tiny runs
    code = main(
        [
            "sweep",
            f"s3://{BUCKET}/backups",
            "--inventory",
            uri,
            "--format",
            "json",
            "--inventory-run-rows",
            "4",
        ],
        env={},
    )
    # then it exits 1 (a breach) with the same JSON report
    assert code == 1
    assert comparable(json.loads(capsys.readouterr().out)) == comparable(listed)


@pytest.mark.parametrize(
    ("inventory_uri", "code", "message"),
    [
        (f"s3://{DEST}/inv/2026-11-22T01-00Z/manifest.json", 3, "no such object"),
        (f"s3://{DEST}/inv/", 2, "must name a manifest.json"),
        ("https://example.com/manifest.json", 2, "not an s3:// URL"),
        (f"s3://{DEST}/parquet/manifest.json", 2, "is a Parquet inventory; only CSV"),
        (f"s3://{DEST}/other-bucket/manifest.json", 2, "inventory of bucket 'other-bucket'"),
    ],
)
def test_cli_inventory_errors_are_clear_with_the_usual_exit_codes(
    s3: S3Client, capsys: pytest.CaptureFixture[str], inventory_uri: str, code: int, message: str
) -> None:
    # given a Parquet inventory and an inventory of another bucket beside the path that does not exist
    s3.put_object(
        Bucket=DEST, Key="parquet/manifest.json", Body=manifest(BUCKET, {}, NOW, file_format="Parquet")
    )
    s3.put_object(Bucket=DEST, Key="other-bucket/manifest.json", Body=manifest("other-bucket", {}, NOW))
    # when swept with each
    got = main(["sweep", f"s3://{BUCKET}/backups/", "--inventory", inventory_uri], env={})
    # then exit 2 for what the user must fix, 3 for what could not be read, with one line saying why
    assert got == code
    assert message in capsys.readouterr().err


def test_access_denied_to_a_data_file_is_an_error_not_a_verdict(s3: S3Client, fail_with: FailWith) -> None:
    # given an inventory whose data files this role may not read
    uri = put_inventory(s3, BUCKET, seed(s3, BUCKET))
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    fail_with(403, "AccessDenied", "GetObject", only="/data/")
    reader = S3InventoryFiles(
        boto3.client("s3", region_name="us-east-1")
    )  # made after the hook, so it has it
    inv = Inventory.open(reader, bucket, key, BUCKET, SerialPool())
    # when swept
    # then the sweep fails with AccessDenied, and reports nothing
    with pytest.raises(AccessDeniedError, match=r"reading s3://inventory-dest/.*/data/.*AccessDenied"):
        Sweep(inv, Config().policy(), 0, 1, lambda: NOW).run(BUCKET, "backups/")


def test_a_stream_that_breaks_halfway_is_a_storage_error() -> None:
    # given a GetObject body whose connection resets while it is read
    class Broken:
        def read(self, amt: int | None = None) -> bytes:
            raise ResponseStreamingError(error="connection reset")

    class Client:
        def get_object(self, **_: Any) -> dict[str, Any]:
            return {"Body": Broken()}

    # when it is read
    # then the product's error says what was being read
    with pytest.raises(StorageError, match="reading s3://d/k"):
        S3InventoryFiles(Client()).open("d", "k").read(10)  # type: ignore[arg-type]


def test_full_sweep_payload_inventory_sweeps_the_inventory(stack: Stack) -> None:
    # given the deployed shape, backups with one missing listing, and their inventory
    stack.s3.create_bucket(Bucket=DEST)
    uri = put_inventory(stack.s3, BUCKET, seed(stack.s3, BUCKET))
    # when a person invokes FullSweep with the inventory
    result = full_sweep.handler({"inventory": uri}, LambdaContext("FullSweep"))
    # then the summary and the stored report are the inventory's, judged like a listing
    assert (result["complete"], result["counts"]["tarballs"], result["counts"]["pending"]) == (True, 13, 1)
    key = result["report"].removeprefix(f"s3://{REPORTS}/")
    body = json.loads(stack.s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())
    assert body["counts"] == result["counts"]
