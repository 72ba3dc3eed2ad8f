"""S3 Inventory as the listing source, with plain bytes: manifest, rows, key decoding, the sorted lister."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from sibling_sentinel.config import Config
from sibling_sentinel.domain.inventory.inventory import (
    Columns,
    Inventory,
    InventoryError,
    InventoryManifest,
    decode_key,
    rows_of,
)
from sibling_sentinel.domain.sweep.full_sweep import SweepRequest
from sibling_sentinel.domain.sweep.sweep import Sweep
from sibling_sentinel.errors import ConfigError, ObjectNotFoundError

from fakes import NOW, FakeBucket, FakeClock, FakeInventoryFiles, SerialPool, obj
from inventory_files import VERSIONED_SCHEMA, data_file, encode_key, inventory, manifest, manifest_key, row_of

DEST = "inventory-dest"
SOURCE = "backups-bucket"
TAKEN = NOW - timedelta(hours=30)  # inventories arrive up to a day or two late
ODD_KEYS = [
    "backups/odd/db dump v2.tar",
    "backups/odd/a+b.tar",
    "backups/odd/100%.tar",
    "backups/odd/%%2B+ %20.tar",
    "backups/odd/résumé.tar.gz",
    "backups/odd/日本語.tar",
    'backups/odd/notes & <markup> "quoted".tar',
    "backups/odd/" + "k" * (1024 - len("backups/odd/") - len(".tar")) + ".tar",
]


def opened(bodies: dict[str, bytes], run_rows: int = 3, readers: int = 1) -> Inventory:
    files = FakeInventoryFiles(DEST, bodies)
    return Inventory.open(files, DEST, manifest_key(bodies), SOURCE, SerialPool(), readers, run_rows)


# -- key decoding --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ODD_KEYS)
def test_keys_decode_back_to_what_s3_stores(key: str) -> None:
    # given a key URL-encoded as S3 writes it in an inventory CSV
    # when decoded
    # then it is the key again, byte for byte
    assert decode_key(encode_key(key)) == key


def test_plus_is_a_space_and_percent_2b_is_a_plus() -> None:
    assert decode_key("backups/db+dump.tar") == "backups/db dump.tar"
    assert decode_key("backups/a%2Bb.tar") == "backups/a+b.tar"
    assert decode_key("backups/100%25.tar") == "backups/100%.tar"


def test_a_key_that_is_not_utf8_once_decoded_is_an_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_key("backups/%FF.tar")


# -- columns and rows ----------------------------------------------------------------------------------


def test_columns_come_from_the_schema_in_any_order() -> None:
    columns = Columns.of("LastModifiedDate,Key , ETag, Bucket, Size")
    row = ["2026-11-21T03:00:00.000Z", "backups/a+b.tar", '"abc"', SOURCE, "42"]
    assert columns.read(row) == obj(
        "backups/a b.tar", 42, now=datetime(2026, 11, 21, 3, tzinfo=UTC), age_s=0, etag="abc"
    )


def test_a_schema_without_size_or_date_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"no Size, LastModifiedDate column.*OptionalFields"):
        Columns.of("Bucket, Key, ETag")


def test_an_etag_is_optional() -> None:
    columns = Columns.of("Bucket, Key, Size, LastModifiedDate")
    # a date without an offset is UTC, as S3's dates are
    read = columns.read([SOURCE, "k", "1", "2026-11-21T03:00:00"])
    assert read == obj("k", 1, now=datetime(2026, 11, 21, 3, tzinfo=UTC), age_s=0, etag="")


def test_older_versions_and_delete_markers_are_not_objects() -> None:
    # given an inventory of all versions
    columns = Columns.of(VERSIONED_SCHEMA)
    current = obj("backups/h/a.tar")
    # when its rows are read
    # then only the latest version that is not a delete marker counts; a delete marker has no size
    assert columns.read(row_of(SOURCE, current, VERSIONED_SCHEMA)) == current
    assert columns.read(row_of(SOURCE, current, VERSIONED_SCHEMA, IsLatest="false")) is None
    assert columns.read(row_of(SOURCE, current, VERSIONED_SCHEMA, IsDeleteMarker="TRUE", Size="")) is None


def test_rows_of_a_data_file_skip_blank_lines_and_check_the_md5() -> None:
    # given a gzip CSV data file ending in blank lines, and its MD5 from the manifest
    objects = [obj("backups/h/a.tar"), obj("backups/h/a b.tar")]
    body = data_file([row_of(SOURCE, o) for o in objects], trailing_blank_lines=2)
    doc = json.loads(manifest(SOURCE, {"d.csv.gz": body}, TAKEN))
    md5 = doc["files"][0]["MD5checksum"]
    # when its rows are read
    rows = list(rows_of(io.BytesIO(body), Columns.of(doc["fileSchema"]), "s3://d/d.csv.gz", md5))
    # then every object comes out as the listing would give it
    assert rows == objects


def test_a_data_file_whose_md5_differs_from_the_manifest_is_an_error() -> None:
    body = data_file([row_of(SOURCE, obj("backups/h/a.tar"))])
    with pytest.raises(InventoryError, match=r"MD5 .* is not the manifest's 0000"):
        list(rows_of(io.BytesIO(body), Columns.of("Bucket, Key, Size, LastModifiedDate, ETag"), "d", "0000"))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not gzip at all", "BadGzipFile"),
        (gzip.compress(b'"b","k","12"\n'), "IndexError"),
        (gzip.compress(b'"b","k","","2026-11-21T03:00:00.000Z","e"\n'), "ValueError"),
        (gzip.compress(b'"b","k","1","yesterday","e"\n'), "ValueError"),
        (gzip.compress(b'"b","%FF","1","2026-11-21T03:00:00.000Z","e"\n'), "UnicodeDecodeError"),
    ],
)
def test_a_row_that_cannot_be_read_is_an_error_never_skipped(body: bytes, reason: str) -> None:
    with pytest.raises(InventoryError, match=f"s3://d/x.csv.gz: line .* cannot be read \\({reason}"):
        list(
            rows_of(
                io.BytesIO(body), Columns.of("Bucket, Key, Size, LastModifiedDate, ETag"), "s3://d/x.csv.gz"
            )
        )


# -- the manifest ---------------------------------------------------------------------------------------


def test_manifest_gives_source_schema_files_and_creation_time() -> None:
    body = manifest(SOURCE, {"a.csv.gz": b"1", "b.csv.gz": b"2"}, datetime(2026, 11, 21, 1, 2, 3, tzinfo=UTC))
    parsed = InventoryManifest.parse(body, "m")
    assert parsed.source_bucket == SOURCE
    assert [f.key for f in parsed.files] == ["a.csv.gz", "b.csv.gz"]
    assert parsed.created_at == datetime(2026, 11, 21, 1, 2, 3, tzinfo=UTC)
    assert parsed.columns == Columns(key=1, size=2, last_modified=3, etag=4)


@pytest.mark.parametrize("file_format", ["Parquet", "ORC"])
def test_parquet_and_orc_inventories_are_refused_with_what_to_do(file_format: str) -> None:
    body = manifest(SOURCE, {}, TAKEN, file_format=file_format)
    with pytest.raises(ConfigError, match=f"is a {file_format} inventory; only CSV.*Format CSV"):
        InventoryManifest.parse(body, "s3://d/m.json")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"fileFormat": "CSV"}', "KeyError"),
        (
            json.dumps({"fileFormat": "CSV", "files": [], "creationTimestamp": "1"}).encode(),
            "no 'sourceBucket'",
        ),
    ],
)
def test_something_that_is_not_a_manifest_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(ConfigError, match=f"s3://d/m.json is not an S3 Inventory manifest.*{reason}"):
        InventoryManifest.parse(body, "s3://d/m.json")


def test_an_inventory_of_another_bucket_is_refused() -> None:
    bodies = inventory("someone-elses-bucket", [obj("backups/h/a.tar")], TAKEN)
    with pytest.raises(
        ConfigError, match="inventory of bucket 'someone-elses-bucket', not of 'backups-bucket'"
    ):
        opened(bodies)


def test_a_missing_manifest_is_not_found() -> None:
    with pytest.raises(ObjectNotFoundError):
        Inventory.open(FakeInventoryFiles(DEST, {}), DEST, "inv/m.json", SOURCE, SerialPool())


# -- the lister -----------------------------------------------------------------------------------------


def test_pages_come_in_key_order_from_shuffled_files_with_tiny_runs() -> None:
    # given 2,500 objects under the prefix and some outside it, shuffled across 4 data files
    inside = [obj(f"backups/h{n % 7}/{n:05d}.tar") for n in range(2500)] + [obj(k) for k in ODD_KEYS]
    outside = [obj("backups-old/x.tar"), obj("other/backups/y.tar")]
    bodies = inventory(SOURCE, inside + outside, TAKEN, n_files=4)
    # when listed with runs of 100 rows (so it spills and merges many runs) by 2 readers
    pages = list(opened(bodies, run_rows=200, readers=2).pages(SOURCE, "backups/"))
    # then pages of at most 1,000 hold every object under the prefix once, in S3 key order
    keys = [o.key for page in pages for o in page]
    assert keys == sorted((o.key for o in inside), key=lambda k: k.encode("utf-8"))
    assert [len(p) for p in pages] == [1000, 1000, 508]


def test_a_key_listed_twice_is_an_error() -> None:
    twice = data_file([row_of(SOURCE, obj("backups/a.tar"))] * 2)
    bodies = {"d.csv.gz": twice, "m.json": manifest(SOURCE, {"d.csv.gz": twice}, TAKEN)}
    inv = Inventory.open(FakeInventoryFiles(DEST, bodies), DEST, "m.json", SOURCE, SerialPool())
    with pytest.raises(InventoryError, match=r"listed twice.*IsLatest"):
        list(inv.pages(SOURCE, "backups/"))


def test_listing_another_bucket_than_the_inventory_is_refused() -> None:
    with pytest.raises(ConfigError, match="lists 'backups-bucket', not 'other'"):
        list(opened(inventory(SOURCE, [], TAKEN)).pages("other", ""))


def test_a_data_file_gone_missing_fails_the_sweep_after_every_reader_is_done() -> None:
    # given a manifest naming 3 data files, one of which is gone
    bodies = inventory(SOURCE, [obj(f"backups/{n}.tar") for n in range(9)], TAKEN)
    gone = sorted(k for k in bodies if k.endswith(".csv.gz"))[0]
    files = FakeInventoryFiles(DEST, {k: v for k, v in bodies.items() if k != gone})
    inv = Inventory.open(files, DEST, manifest_key(bodies), SOURCE, SerialPool())
    # when listed
    # then it is an error naming the file, and the other two files were still read to the end
    with pytest.raises(ObjectNotFoundError, match=gone):
        list(inv.pages(SOURCE, "backups/"))
    assert len([k for k in files.opened if k.endswith(".csv.gz")]) == 2


# -- the sweep over an inventory --------------------------------------------------------------------------


def test_an_inventory_sweep_reports_what_a_listing_sweep_reports() -> None:
    # given a bucket with ok, missing, undersized, stale, young and orphaned siblings, odd keys included
    objects = [
        obj("backups/h1/ok.tar"),
        obj("backups/h1/ok.tar.list.txt", 500),
        obj("backups/h1/small.tar"),
        obj("backups/h1/small.tar.list.txt", 3),
        obj("backups/h2/stale.tar", age_s=3600),
        obj("backups/h2/stale.tar.list.txt", 500, age_s=90000),
        obj("backups/h2/gone.tar.list.txt", 500),
        obj("backups/h3/young.tar", age_s=60),
        *(obj(k) for k in ODD_KEYS),
        obj(ODD_KEYS[0] + ".list.txt", 500),
    ]
    policy = Config().policy()
    listing = Sweep(FakeBucket(objects), policy, 0, 1, FakeClock()).run(SOURCE, "backups/")
    # when the same objects are swept from an inventory taken at the same moment
    inv = opened(inventory(SOURCE, objects, NOW), run_rows=4)
    swept = Sweep(inv, policy, 0, 1, FakeClock(), as_of=inv.created_at).run(SOURCE, "backups/")
    # then the reports are the same: counts, groups, findings and objects listed
    assert swept.to_dict() == listing.to_dict()
    assert swept.counts["tarballs"] == 12


def test_grace_is_judged_against_the_inventory_time_not_the_sweep_time() -> None:
    # given a tarball written an hour before the inventory was taken, without its listing yet
    young = obj("backups/h/new.tar", now=TAKEN, age_s=3600)
    inv = opened(inventory(SOURCE, [young], TAKEN))
    # when swept 30 hours after the inventory, with a 2-hour grace period
    report = Sweep(inv, Config().policy(), 0, 1, FakeClock(NOW), as_of=inv.created_at).run(SOURCE, "backups/")
    # then it is pending, as it was when the inventory saw it, and not missing
    assert report.counts["pending"] == 1
    assert report.problems == 0
    assert report.started_at == NOW


# -- configuration ----------------------------------------------------------------------------------------


def test_manual_payload_may_name_an_inventory() -> None:
    request = SweepRequest.from_event({"inventory": "s3://d/inv/manifest.json"}, "backups/", 0)
    assert request.inventory == "s3://d/inv/manifest.json"
    assert SweepRequest.from_event({}, "backups/", 0).inventory == ""
    with pytest.raises(ConfigError, match="'inventory' must be a str"):
        SweepRequest.from_event({"inventory": 1}, "backups/", 0)


def test_run_rows_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="--inventory-run-rows must be 1 or more, got 0"):
        Config(inventory_run_rows=0)
