"""`verify` and `repair` against moto's S3, on real tarballs made by tar and each compressor's tool."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws

from sibling_sentinel.adapters.s3 import S3Objects
from sibling_sentinel.adapters.tarball_bytes import WRITER, S3ListingWriter, S3TarballBytes
from sibling_sentinel.cli.main import main
from sibling_sentinel.config import Config
from sibling_sentinel.domain.verify.verify import RepairAction, repair_listing
from sibling_sentinel.errors import (
    BucketNotFoundError,
    ObjectChangedError,
    ObjectNotFoundError,
    StorageError,
    WriteRefusedError,
)

from fakes import manifest_body
from tar_tools import COMPRESSORS, make_tarball, make_tree, some_files, tar_t, tar_t_of_bytes

BUCKET = "backups-bucket"
ALL = list(COMPRESSORS)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def tarballs(tmp_path: Path) -> dict[str, Path]:
    """One real tarball per compression, of the same tree, and a second tree's tarball."""
    tree = make_tree(tmp_path / "tree", some_files())
    made = {c: make_tarball(tree, tmp_path / f"night{COMPRESSORS[c][0]}", c) for c in ALL}
    other = make_tree(tmp_path / "other", some_files(n=5))
    made["other"] = make_tarball(other, tmp_path / "other.tar.gz", "gzip")
    return made


def manifest_of(relative_path: str, sha256: str) -> bytes:
    return manifest_body(relative_path, archive={"relative_path": relative_path, "sha256": sha256})


def upload(s3: Any, key: str, tarball: Path, listing: bytes | None = None, age_s: int = 0) -> str:
    s3.upload_file(str(tarball), BUCKET, key)
    if listing is not None:
        s3.put_object(Bucket=BUCKET, Key=key + ".list.txt", Body=listing)
    return key


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    import sys

    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO(stdin)
    try:
        code = main(list(argv), env={})
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def verify_json(key: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run("verify", f"s3://{BUCKET}/{key}", "--format", "json")
    return code, json.loads(out)


# -- verify ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ALL)
def test_a_tarball_with_its_tar_t_listing_verifies_ok(
    s3: Any, tarballs: dict[str, Path], compression: str
) -> None:
    # given a real tarball, its listing made by `tar -t`, and a manifest with its sha256
    tarball = tarballs[compression]
    key = upload(s3, f"backups/h1/night{COMPRESSORS[compression][0]}", tarball, tar_t(tarball))
    stem = key[: -len(COMPRESSORS[compression][0])]
    sha = hashlib.sha256(tarball.read_bytes()).hexdigest()
    s3.put_object(Bucket=BUCKET, Key=stem + ".manifest.json", Body=manifest_of(key.rsplit("/", 1)[1], sha))

    # when it is verified
    code, result = verify_json(key)

    # then the entries match the listing and the checksum the manifest's: ok, exit 0
    assert code == 0
    assert result["verdict"] == "ok"
    assert result["listing"]["state"] == "match"
    assert result["manifest"]["checksum"] == "match"
    assert result["sha256"] == sha
    assert result["bytes_read"] == tarball.stat().st_size
    assert result["entries"] == len(some_files()) + 3


def test_a_listing_with_a_line_dropped_is_a_mismatch(s3: Any, tarballs: dict[str, Path]) -> None:
    # given a listing one line short, as a failed pipe leaves it
    tarball = tarballs["zstd"]
    lines = tar_t(tarball).splitlines(keepends=True)
    dropped = lines.pop(5)
    key = upload(s3, "backups/h1/cut.tar.zst", tarball, b"".join(lines))

    # when it is verified
    code, result = verify_json(key)

    # then the dropped name is reported missing from the listing, and the exit code is a breach
    assert code == 1
    assert result["verdict"] == "mismatch"
    assert result["listing"]["missing_from_listing"] == {
        "count": 1,
        "first": [dropped.decode().strip().removeprefix("./")],
    }
    assert result["listing"]["not_in_tarball"]["count"] == 0


def test_a_listing_of_another_tarball_is_a_mismatch_both_ways(s3: Any, tarballs: dict[str, Path]) -> None:
    # given the listing of another backup beside this tarball
    key = upload(s3, "backups/h1/swap.tar.gz", tarballs["gzip"], tar_t(tarballs["other"]))

    # when it is verified in text
    code, out, _ = run("verify", f"s3://{BUCKET}/{key}")

    # then names are missing both ways, with counts and the first few
    assert code == 1
    assert out.startswith(f"mismatch  s3://{BUCKET}/{key}\n")
    assert "listing mismatch: 7 entries of the tarball are not in the listing" in out
    assert "in the tarball, not in the listing (first 5): data/part-0" in out


@pytest.mark.parametrize("compression", ["gzip", "xz", "none"])
def test_a_tarball_cut_short_is_corrupt(
    s3: Any, tarballs: dict[str, Path], compression: str, tmp_path: Path
) -> None:
    # given a tarball of which only the first 60 % was stored, and its whole listing
    whole = tarballs[compression]
    cut = tmp_path / "cut"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    key = upload(s3, f"backups/h1/cut{COMPRESSORS[compression][0]}", cut, tar_t(whole))

    # when it is verified
    code, result = verify_json(key)

    # then it is corrupt (never ok), and the listing is not claimed to match or not
    assert code == 1
    assert result["verdict"] == "corrupt"
    assert result["readable"] is False
    assert result["listing"]["state"] == "incomplete"
    assert result["findings"][0].startswith("corrupt: cannot be read to its end")


def test_a_manifest_with_another_sha256_is_a_mismatch(s3: Any, tarballs: dict[str, Path]) -> None:
    # given a manifest whose archive.sha256 is that of another tarball
    tarball = tarballs["bzip2"]
    key = upload(s3, "backups/h1/snap.tar.bz2", tarball, tar_t(tarball))
    other = hashlib.sha256(tarballs["other"].read_bytes()).hexdigest()
    s3.put_object(Bucket=BUCKET, Key="backups/h1/snap.manifest.json", Body=manifest_of("snap.tar.bz2", other))

    # when it is verified
    code, result = verify_json(key)

    # then the checksum is a mismatch though the listing matches
    assert code == 1
    assert result["verdict"] == "mismatch"
    assert result["listing"]["state"] == "match"
    assert result["manifest"]["checksum"] == "mismatch"
    assert result["manifest"]["sha256"] == other


def test_a_multipart_tarball_is_verified_in_full(s3: Any, tmp_path: Path) -> None:
    # given a tarball over 5 MB uploaded in parts (so S3 holds no full-object SHA-256 for it)
    big = make_tree(
        tmp_path / "big", {f"f{i}": bytes((i + j) % 256 for j in range(700_000)) for i in range(10)}
    )
    tarball = make_tarball(big, tmp_path / "big.tar", "none")
    s3.upload_file(
        str(tarball),
        BUCKET,
        "backups/h1/big.tar",
        Config=TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20),
    )
    assert "-" in s3.head_object(Bucket=BUCKET, Key="backups/h1/big.tar")["ETag"]
    s3.put_object(Bucket=BUCKET, Key="backups/h1/big.tar.list.txt", Body=tar_t(tarball))
    sha = hashlib.sha256(tarball.read_bytes()).hexdigest()
    s3.put_object(Bucket=BUCKET, Key="backups/h1/big.manifest.json", Body=manifest_of("big.tar", sha))

    # when it is verified
    code, result = verify_json("backups/h1/big.tar")

    # then its manifest's sha256 is checked against every byte
    assert code == 0
    assert result["manifest"]["checksum"] == "match"


def test_a_tarball_with_no_listing_is_a_problem(s3: Any, tarballs: dict[str, Path]) -> None:
    # given a tarball and no listing
    key = upload(s3, "backups/h1/bare.tar.lz4", tarballs["lz4"])

    # when it is verified
    code, result = verify_json(key)

    # then the missing listing is a finding, though every byte read fine
    assert code == 1
    assert result["verdict"] == "missing"
    assert result["readable"] is True


def test_verify_of_a_key_that_does_not_exist_cannot_complete(s3: Any) -> None:
    code, _, err = run("verify", f"s3://{BUCKET}/backups/h1/none.tar.gz")
    assert code == 3
    assert "does not exist" in err


def test_verify_of_a_key_that_is_not_a_tarball_is_a_usage_error(s3: Any) -> None:
    code, _, err = run("verify", f"s3://{BUCKET}/backups/h1/notes.txt")
    assert code == 2
    assert "is not a tarball" in err


def test_a_stream_that_breaks_off_is_an_error_not_a_verdict() -> None:
    # given a GET body that fails after its first chunk
    class Breaking:
        def iter_chunks(self, size: int) -> Iterator[bytes]:
            yield b"x" * 10
            raise ConnectionResetError("reset by peer")

        def close(self) -> None:
            pass

    # when it is streamed
    chunks = S3TarballBytes(None)._chunks(Breaking(), 100, "reading s3://b/k")  # type: ignore[arg-type]

    # then it is the product's storage error, naming how far it got
    with pytest.raises(StorageError, match="broke after 10 bytes"):
        list(chunks)


def test_a_stream_shorter_than_its_length_is_an_error() -> None:
    class Short:
        def iter_chunks(self, size: int) -> Iterator[bytes]:
            yield b"x" * 10

        def close(self) -> None:
            pass

    with pytest.raises(StorageError, match="ended after 10 of 100 bytes"):
        list(S3TarballBytes(None)._chunks(Short(), 100, "reading s3://b/k"))  # type: ignore[arg-type]


# -- repair ------------------------------------------------------------------------------------------------


def test_repair_writes_the_listing_tar_t_prints_and_check_then_says_ok(
    s3: Any, tarballs: dict[str, Path], tmp_path: Path
) -> None:
    # given a tarball whose listing is missing, past the grace period
    key = upload(s3, "backups/h1/lost.tar.zst", tarballs["zstd"])
    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')

    # when it is repaired with --yes (grace 0: the tarball is brand new)
    code, out, _ = run("repair", f"s3://{BUCKET}/{key}", "--yes", "--grace", "0")

    # then the listing written is what tar -t prints, with metadata naming the writer and the tarball
    assert code == 0, out
    assert out.startswith(f"written  s3://{BUCKET}/{key}.list.txt  (missing; If-None-Match: *)")
    written = s3.get_object(Bucket=BUCKET, Key=key + ".list.txt")
    body = written["Body"].read()
    assert body == tar_t_of_bytes(tarballs["zstd"].read_bytes(), "zstd", tmp_path)
    assert written["Metadata"] == {"written-by": WRITER, "tarball-etag": etag}
    # and check of the key says ok, and so does verify
    assert run("check", f"s3://{BUCKET}/{key}", "--grace", "0")[1].startswith("ok  ")
    assert verify_json(key)[1]["verdict"] == "ok"


def test_repair_without_yes_from_a_pipe_is_a_dry_run(s3: Any, tarballs: dict[str, Path]) -> None:
    # given a missing listing, and a repair whose stdin is not a terminal
    key = upload(s3, "backups/h1/lost.tgz", tarballs["gzip"])

    # when repair runs without --yes
    code, out, err = run("repair", f"s3://{BUCKET}/{key}", "--grace", "0", "--format", "json")

    # then it says what it would write, writes nothing, and says why
    assert code == 0
    assert json.loads(out)["repairs"][0]["action"] == "would-write"
    assert json.loads(out)["dry_run"] is True
    assert "stdin is not a terminal" in err
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=key + ".list.txt")


def test_repair_leaves_a_pending_listing_alone(s3: Any, tarballs: dict[str, Path]) -> None:
    # given a tarball just written, whose listing may still be on its way
    key = upload(s3, "backups/h1/new.tar.xz", tarballs["xz"])

    # when repair runs with the default grace
    code, out, _ = run("repair", f"s3://{BUCKET}/{key}", "--yes")

    # then nothing is written
    assert code == 0
    assert out.startswith("not-needed")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=key + ".list.txt")


class WritesFirst(S3TarballBytes):
    """A tarball source during whose read someone else writes the listing: the race repair must lose."""

    def __init__(self, client: Any, listing_key: str) -> None:
        super().__init__(client)
        self._client, self._listing_key = client, listing_key

    def stream(self, bucket: str, key: str, etag: str) -> Iterator[bytes]:
        self._client.put_object(
            Bucket=bucket, Key=self._listing_key, Body=b"the producer's own listing\n" * 4
        )
        return super().stream(bucket, key, etag)


@pytest.mark.parametrize("judged", ["missing", "undersized"])
def test_repair_refuses_to_overwrite_a_listing_written_in_between(
    s3: Any, tarballs: dict[str, Path], judged: str
) -> None:
    # given a missing (or undersized) listing that the producer writes while repair reads the tarball
    key = upload(
        s3, "backups/h1/race.tar.gz", tarballs["gzip"], b"short\n" if judged == "undersized" else None
    )
    config = Config(grace_seconds=0)

    # when repair writes
    result = repair_listing(
        S3Objects(s3),
        WritesFirst(s3, key + ".list.txt"),
        S3ListingWriter(s3, "backups/"),
        BUCKET,
        key,
        config.policy(),
        datetime.now(UTC) + timedelta(seconds=1),
        "backups/",
        write=True,
    )

    # then its conditional write fails, and the producer's listing stands
    assert result.judged == judged
    assert result.action is RepairAction.REFUSED
    assert "since it was judged" in result.reason
    body = s3.get_object(Bucket=BUCKET, Key=key + ".list.txt")["Body"].read()
    assert body.startswith(b"the producer's own listing")


def test_repair_from_a_report_fixes_every_listing_problem_in_it(
    s3: Any, tarballs: dict[str, Path], tmp_path: Path
) -> None:
    # given a sweep report with a missing and an undersized listing (and an ok tarball)
    missing = upload(s3, "backups/h1/a.tar.bz2", tarballs["bzip2"])
    small = upload(s3, "backups/h2/b.tar.lz4", tarballs["lz4"], b"x\n")
    upload(s3, "backups/h2/c.tgz", tarballs["gzip"], tar_t(tarballs["gzip"]))
    report = tmp_path / "report.json"
    code, _, _ = run("sweep", f"s3://{BUCKET}/backups/", "--grace", "0", "--report", str(report))
    assert code == 1

    # when repair runs from it
    code, out, _ = run("repair", "--from-report", str(report), "--yes", "--grace", "0", "--format", "json")

    # then both listings are written, and the sweep is clean
    assert code == 0
    actions = {r["key"]: (r["judged"], r["action"]) for r in json.loads(out)["repairs"]}
    assert actions == {missing: ("missing", "written"), small: ("undersized", "written")}
    assert run("sweep", f"s3://{BUCKET}/backups/", "--grace", "0")[0] == 0


def test_repair_asks_on_a_terminal(
    s3: Any, tarballs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a terminal on stdin where the operator answers "n"
    key = upload(s3, "backups/h1/ask.tar", tarballs["none"])

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    import sys

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)

    # when repair runs without --yes
    code = main(["repair", f"s3://{BUCKET}/{key}", "--grace", "0"], env={})

    # then it asked, and wrote nothing on "n"
    assert code == 0
    assert "[y/N]" in err.getvalue()
    assert out.getvalue().startswith("would-write")


def test_the_listing_writer_refuses_any_key_but_a_listing_under_its_prefix(s3: Any) -> None:
    writer = S3ListingWriter(s3, "backups/")
    for key in ("backups/h1/a.tar.gz", "other/h1/a.tar.gz.list.txt"):
        with pytest.raises(WriteRefusedError):
            writer.put_listing(BUCKET, key, b"x", "etag", None)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_repair_with_neither_key_nor_report_is_a_usage_error(s3: Any) -> None:
    assert run("repair")[0] == 2


def test_repair_from_something_that_is_not_a_report_is_a_usage_error(s3: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    code, _, err = run("repair", "--from-report", str(bad))
    assert code == 2
    assert "not a sweep report" in err


@pytest.mark.parametrize("name", ["db dump+v2 100%.tgz", "résumé & <notes>.tar.xz", "caf\u00e9\u2603.tar.gz"])
def test_odd_keys_verify_and_repair(s3: Any, tarballs: dict[str, Path], tmp_path: Path, name: str) -> None:
    # given a tarball under a key with spaces, '+', '%', unicode or markup, and no listing
    compression = "xz" if name.endswith(".xz") else "gzip"
    key = upload(s3, f"backups/odd/{name}", tarballs[compression])

    # when it is repaired and then verified
    code, out, _ = run("repair", f"s3://{BUCKET}/{key}", "--yes", "--grace", "0")
    verified = verify_json(key)

    # then the listing landed at exactly key + .list.txt, and verify agrees with it
    assert code == 0, out
    body = s3.get_object(Bucket=BUCKET, Key=key + ".list.txt")["Body"].read()
    assert body == tar_t(tarballs[compression])
    assert verified[0] == 0
    assert verified[1]["verdict"] == "ok"


def test_repair_refuses_a_listing_key_longer_than_s3_allows(s3: Any, tarballs: dict[str, Path]) -> None:
    # given a tarball whose key leaves no room for ".list.txt" within S3's 1,024 bytes
    key = "backups/long/" + "k" * (1024 - len("backups/long/") - len(".tar")) + ".tar"
    upload(s3, key, tarballs["none"])

    # when it is repaired
    code, out, _ = run("repair", f"s3://{BUCKET}/{key}", "--yes", "--grace", "0", "--format", "json")

    # then nothing is written, and the reason is given (exit 1: the listing is still missing)
    assert code == 1
    (repair,) = json.loads(out)["repairs"]
    assert repair["action"] == "refused"
    assert "1,024 bytes" in repair["reason"]


def test_repair_mismatched_rewrites_a_listing_cut_short_that_metadata_passes(
    s3: Any, tarballs: dict[str, Path]
) -> None:
    # given a listing that lost its second half (big enough and fresh: `check` says ok)
    tarball = tarballs["gzip"]
    listing = tar_t(tarball)
    key = upload(
        s3, "backups/h1/half.tgz", tarball, listing[: len(listing) // 2].rpartition(b"\n")[0] + b"\n"
    )
    assert run("check", f"s3://{BUCKET}/{key}", "--grace", "0")[1].startswith("ok  ")

    # when repair runs without and then with --mismatched
    plain = run("repair", f"s3://{BUCKET}/{key}", "--yes", "--grace", "0")
    code, out, _ = run("repair", f"s3://{BUCKET}/{key}", "--yes", "--grace", "0", "--mismatched")

    # then only the second rewrites it (If-Match on the listing judged), and verify then says ok
    assert plain[1].startswith("not-needed")
    assert code == 0
    assert out.startswith(f"written  s3://{BUCKET}/{key}.list.txt  (mismatch; If-Match: ")
    assert s3.get_object(Bucket=BUCKET, Key=key + ".list.txt")["Body"].read() == listing
    assert verify_json(key)[1]["verdict"] == "ok"


def test_repair_mismatched_leaves_a_matching_listing_alone(s3: Any, tarballs: dict[str, Path]) -> None:
    # given a listing that matches, though written by another tar (without the ./ prefix)
    tarball = tarballs["zstd"]
    lines = [line.removeprefix(b"./") for line in tar_t(tarball).splitlines(keepends=True)]
    key = upload(s3, "backups/h1/same.tar.zst", tarball, b"".join(lines))
    etag = s3.head_object(Bucket=BUCKET, Key=key + ".list.txt")["ETag"]

    # when repair --mismatched runs
    code, out, _ = run("repair", f"s3://{BUCKET}/{key}", "--yes", "--grace", "0", "--mismatched")

    # then nothing is written
    assert code == 0
    assert out.startswith("not-needed")
    assert s3.head_object(Bucket=BUCKET, Key=key + ".list.txt")["ETag"] == etag


def test_repair_mismatched_dry_run_reads_but_does_not_write(s3: Any, tarballs: dict[str, Path]) -> None:
    tarball = tarballs["none"]
    key = upload(s3, "backups/h1/other.tar", tarball, tar_t(tarballs["other"]))
    code, out, _ = run("repair", f"s3://{BUCKET}/{key}", "--grace", "0", "--mismatched", "--format", "json")
    assert code == 0
    (repair,) = json.loads(out)["repairs"]
    assert (repair["judged"], repair["action"]) == ("mismatch", "would-write")
    assert s3.get_object(Bucket=BUCKET, Key=key + ".list.txt")["Body"].read() == tar_t(tarballs["other"])


def test_a_tarball_rewritten_since_it_was_listed_is_not_read(s3: Any, tarballs: dict[str, Path]) -> None:
    # given the ETag judged, and a tarball rewritten since
    key = upload(s3, "backups/h1/moved.tar", tarballs["none"])
    judged = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"rewritten")

    # when its bytes are asked for as judged
    # then the read is refused (If-Match), not made of other bytes
    with pytest.raises(ObjectChangedError, match="changed since it was judged"):
        S3TarballBytes(s3).stream(BUCKET, key, judged)


def test_reading_what_is_not_there(s3: Any) -> None:
    source = S3TarballBytes(s3)
    with pytest.raises(ObjectNotFoundError):
        source.stream(BUCKET, "backups/h1/none.tar", "etag")
    assert source.read_whole(BUCKET, "backups/h1/none.tar.list.txt") is None


def test_a_listing_write_refused_by_s3_is_the_product_s_error(s3: Any) -> None:
    # given a bucket that does not exist
    writer = S3ListingWriter(s3, "backups/")

    # when a listing is written there
    # then it is a storage error naming the bucket, not a crash
    with pytest.raises(BucketNotFoundError):
        writer.put_listing("no-such-bucket", "backups/a.tar.list.txt", b"a\n", "e", None)
