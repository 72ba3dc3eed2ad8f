"""Manifest reads and the checksum cross-check under moto; the CLI's manifest rule and restore-candidate.

What moto 5.2.5 returns for `HeadObject(ChecksumMode="ENABLED")`: `ChecksumSHA256` (base64) for an
object put with `ChecksumAlgorithm="SHA256"`, and for a multipart upload made with SHA-256 parts,
but **no `ChecksumType`** for either. Real S3 says FULL_OBJECT or COMPOSITE, so the adapter falls back
to the ETag: a multipart ETag (`-N`) marks a composite checksum. These tests pin that behaviour down.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING

import pytest
import test_s3_adapter
from test_s3_adapter import BUCKET

from sibling_sentinel.adapters.pool import ThreadPool
from sibling_sentinel.adapters.s3_content import S3Content
from sibling_sentinel.cli.main import main
from sibling_sentinel.domain.manifests.manifest import MAX_MANIFEST_BYTES
from sibling_sentinel.errors import AccessDeniedError, ThrottledError

from fakes import manifest_body
from stack import answer_with

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FOLDER = "backups/corpus/"
TARBALL_BODY = b"a corpus snapshot, pretend it is 10 GB" * 10
TARBALL_SHA = hashlib.sha256(TARBALL_BODY).hexdigest()
URL = f"s3://{BUCKET}/backups/"
s3 = test_s3_adapter.s3  # the same moto bucket fixture


def put_backup(
    s3: S3Client,
    name: str,
    version: int = 3,
    created_at: str = "2026-11-20T03:00:00Z",
    sha256: str | None = TARBALL_SHA,
    listing: bool = True,
) -> str:
    """A tarball with a full-object SHA-256, its listing, and a manifest describing it."""
    key = f"{FOLDER}{name}.tgz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=TARBALL_BODY, ChecksumAlgorithm="SHA256")
    if listing:
        s3.put_object(Bucket=BUCKET, Key=key + ".list.txt", Body=b"corpus/file\n" * 10)
    archive = {"relative_path": f"{name}.tgz", "sha256": sha256}
    body = manifest_body(f"{name}.tgz", corpus_format_version=version, created_at=created_at, archive=archive)
    s3.put_object(Bucket=BUCKET, Key=f"{FOLDER}{name}.manifest.json", Body=body)
    return key


def put_multipart(s3: S3Client, key: str) -> None:
    """A two-part upload with SHA-256 part checksums, so S3's SHA-256 is composite."""
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, body in ((1, b"x" * 5 * 1024 * 1024), (2, b"y" * 10)):
        part = s3.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=body, ChecksumAlgorithm="SHA256"
        )
        parts.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


# -- the adapter -----------------------------------------------------------------------------------------


def test_moto_returns_the_full_object_sha256_without_a_checksum_type(s3: S3Client) -> None:
    # given a tarball put with a SHA-256 checksum
    key = put_backup(s3, "snap")
    # when its stored checksum is read
    stored = S3Content(s3).stored_checksum(BUCKET, key)
    # then it is the base64 SHA-256 of the bytes; moto gives no ChecksumType, and the ETag is single-part
    assert stored is not None
    assert stored.sha256 == base64.b64encode(hashlib.sha256(TARBALL_BODY).digest()).decode()
    assert (stored.checksum_type, stored.multipart) == (None, False)


def test_a_multipart_upload_reads_as_multipart(s3: S3Client) -> None:
    put_multipart(s3, FOLDER + "big.tgz")
    stored = S3Content(s3).stored_checksum(BUCKET, FOLDER + "big.tgz")
    assert stored is not None
    assert stored.multipart
    assert stored.sha256 is not None


def test_a_manifest_is_read_up_to_one_byte_past_the_cap(s3: S3Client) -> None:
    # given a "manifest" twice the cap
    s3.put_object(Bucket=BUCKET, Key="big.manifest.json", Body=b"{" * (2 * MAX_MANIFEST_BYTES))
    # when it is read
    body = S3Content(s3).read_manifest(BUCKET, "big.manifest.json", MAX_MANIFEST_BYTES)
    # then only enough to show it is over the cap came back
    assert body is not None
    assert len(body) == MAX_MANIFEST_BYTES + 1


def test_a_manifest_or_checksum_that_is_not_there_is_absent(s3: S3Client) -> None:
    content = S3Content(s3)
    assert content.read_manifest(BUCKET, "gone.manifest.json", 100) is None
    assert content.stored_checksum(BUCKET, "gone.tgz") is None


def test_reading_a_manifest_forbidden_is_access_denied_never_invalid(s3: S3Client) -> None:
    # given S3 answers GetObject with 403
    put_backup(s3, "snap")
    answer_with(s3.meta.events, "GetObject", 403, "AccessDenied")
    # when the manifest is read, then it is an error naming the object
    with pytest.raises(AccessDeniedError, match=f"s3://{BUCKET}/{FOLDER}snap.manifest.json"):
        S3Content(s3).read_manifest(BUCKET, FOLDER + "snap.manifest.json", 100)


def test_a_throttled_checksum_read_is_throttled(s3: S3Client) -> None:
    answer_with(s3.meta.events, "HeadObject", 503, "SlowDown")
    with pytest.raises(ThrottledError):
        S3Content(s3).stored_checksum(BUCKET, FOLDER + "snap.tgz")


def test_an_empty_manifest_reads_as_no_bytes(s3: S3Client) -> None:
    s3.put_object(Bucket=BUCKET, Key="empty.manifest.json", Body=b"")
    assert S3Content(s3).read_manifest(BUCKET, "empty.manifest.json", 100) == b""


def test_the_thread_pool_returns_results_and_raises_errors_where_they_are_asked_for() -> None:
    def fail() -> int:
        raise AccessDeniedError("denied")

    with ThreadPool(2) as pool:
        ok, failed = pool.submit(lambda: 7), pool.submit(fail)
        assert ok() == 7
        with pytest.raises(AccessDeniedError):
            failed()


# -- sweep and check with the rule -----------------------------------------------------------------------


def test_sweep_reports_a_checksum_mismatch_against_s3s_full_object_sha256(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a manifest whose archive.sha256 is of other bytes than the tarball S3 holds
    put_backup(s3, "good")
    put_backup(s3, "bad", sha256=hashlib.sha256(b"other bytes").hexdigest())
    # when swept with the manifest rule required
    code = main(["sweep", URL, "--manifest", "required", "--grace", "0", "--format", "json"], env={})
    # then the bad one is invalid with a mismatch, the good one verified, and the sweep breaches
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    [finding] = report["findings"]
    assert (finding["key"], finding["verdict"]) == (FOLDER + "bad.tgz", "invalid")
    assert "does not match S3's full-object SHA-256" in finding["reason"]
    assert report["checksums"] == {"verified": 1, "unverifiable": 0}


def test_sweep_counts_a_multipart_tarball_unverifiable_not_mismatched(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a multipart tarball whose manifest carries some sha256 (S3 holds a composite one)
    put_multipart(s3, FOLDER + "big.tgz")
    s3.put_object(Bucket=BUCKET, Key=FOLDER + "big.tgz.list.txt", Body=b"corpus/file\n" * 10)
    archive = {"relative_path": "big.tgz", "sha256": TARBALL_SHA}
    s3.put_object(
        Bucket=BUCKET, Key=FOLDER + "big.manifest.json", Body=manifest_body("big.tgz", archive=archive)
    )
    # when swept with the rule required
    code = main(["sweep", URL, "--manifest", "required"], env={})
    # then it is ok, and the text report counts it unverifiable
    out = capsys.readouterr().out
    assert code == 0
    assert "manifest checksums: verified 0  unverifiable 1" in out


def test_sweep_that_cannot_read_a_manifest_exits_3_without_a_report(
    s3: S3Client, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given every GetObject is denied
    put_backup(s3, "snap")
    monkeypatch.setattr("sibling_sentinel.lambda_edge.wiring.aws_client", lambda config, service: s3)
    answer_with(s3.meta.events, "GetObject", 403, "AccessDenied")
    # when swept with the rule required
    code = main(["sweep", URL, "--manifest", "required"], env={})
    # then the sweep could not complete, and nothing on stdout pretends it did
    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert "AccessDenied" in captured.err


def test_manifest_rules_variable_requires_the_manifest_only_under_its_folder(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tarball with a listing but no manifest outside the corpus folder
    s3.put_object(Bucket=BUCKET, Key="backups/web/site.tgz", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="backups/web/site.tgz.list.txt", Body=b"site/index.html\n" * 10)
    put_backup(s3, "snap")
    # when swept with the manifest required under backups/corpus/ only
    code = main(["sweep", URL], env={"MANIFEST_RULES": "backups/corpus/=required"})
    # then both are ok
    assert code == 0
    assert "tarballs 2  ok 2" in capsys.readouterr().out


def test_check_applies_the_manifest_rule_to_one_tarball(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a tarball whose manifest points at another tarball
    key = put_backup(s3, "snap")
    s3.put_object(Bucket=BUCKET, Key=FOLDER + "snap.manifest.json", Body=manifest_body("other.tgz"))
    # when checked with the rule optional
    code = main(["check", f"s3://{BUCKET}/{key}", "--manifest", "optional", "--grace", "0"], env={})
    # then it is invalid, naming the wrong path
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"invalid  s3://{BUCKET}/{key}")
    assert "archive.relative_path 'other.tgz' resolves to" in out


# -- restore-candidate -----------------------------------------------------------------------------------


def restore(*args: str) -> list[str]:
    return ["restore-candidate", URL, *args]


def test_restore_candidate_prints_only_the_chosen_uri(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a format-3 backup and a newer format-4 one
    put_backup(s3, "old", version=3, created_at="2026-11-20T00:00:00Z")
    put_backup(s3, "new", version=4, created_at="2026-11-21T00:00:00Z")
    # when a reader of format 3 asks
    code = main(restore("--reader-supports", "3"), env={})
    # then stdout is exactly the older backup's URI, and stderr says why
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == f"s3://{BUCKET}/{FOLDER}old.tgz\n"
    assert "chosen backups/corpus/old.tgz" in captured.err


def test_restore_candidate_with_nothing_qualifying_fails_closed_with_nothing_on_stdout(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    put_backup(s3, "new", version=4)
    code = main(restore("--reader-supports", "3"), env={})
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.startswith("sibling-sentinel: no restore candidate: no backup under")


def test_restore_candidate_json_lists_the_chosen_manifest_and_the_candidates_passed_over(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a good backup and a newer one whose manifest's sha256 does not match its tarball
    put_backup(s3, "good", created_at="2026-11-20T00:00:00Z")
    put_backup(s3, "bad", created_at="2026-11-21T00:00:00Z", sha256="0" * 64)
    # when asked for JSON
    code = main(restore("--reader-supports", "3,4", "--format", "json"), env={})
    # then the good one is chosen with its manifest, and the bad one is passed over as invalid
    body = json.loads(capsys.readouterr().out)
    assert code == 0
    assert body["chosen"]["key"] == FOLDER + "good.tgz"
    assert body["chosen"]["checksum"] == "verified"
    assert body["chosen"]["manifest"]["archive"]["relative_path"] == "good.tgz"
    [passed] = body["passed_over"]
    assert (passed["key"], passed["standing"]) == (FOLDER + "bad.tgz", "invalid_manifest")


def test_restore_candidate_pin_explains_a_backup_that_is_not_restorable(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    key = put_backup(s3, "new", version=4)
    code = main(restore("--reader-supports", "3", "--pin", f"s3://{BUCKET}/{key}"), env={})
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "pinned backup" in captured.err
    assert "corpus_format_version 4 is not one the reader supports (3)" in captured.err


def test_restore_candidate_pin_of_a_restorable_backup_prints_it(
    s3: S3Client, capsys: pytest.CaptureFixture[str]
) -> None:
    put_backup(s3, "a", created_at="2026-11-20T00:00:00Z")
    put_backup(s3, "b", created_at="2026-11-21T00:00:00Z")
    code = main(restore("--reader-supports", "3", "--pin", FOLDER + "a.tgz"), env={})
    assert code == 0
    assert capsys.readouterr().out == f"s3://{BUCKET}/{FOLDER}a.tgz\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--reader-supports", "three"), "--reader-supports"),
        (("--reader-supports", ","), "--reader-supports"),
        (("--reader-supports", "3", "--pin", "elsewhere/a.tgz"), "--pin"),
        (("--reader-supports", "3", "--pin", "s3://other-bucket/backups/a.tgz"), "--pin"),
    ],
)
def test_restore_candidate_usage_errors_exit_2_naming_the_flag(
    s3: S3Client, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], named: str
) -> None:
    try:
        code = main(restore(*args), env={})
    except SystemExit as exited:  # argparse rejects a bad --reader-supports itself, also with 2
        code = int(str(exited.code))
    captured = capsys.readouterr()
    assert code == 2
    assert named in captured.err
    assert captured.out == ""
