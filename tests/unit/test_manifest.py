"""Manifest validation and the checksum cross-check, with plain bytes and no S3."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sibling_sentinel.domain.core.objects import StoredChecksum
from sibling_sentinel.domain.core.verdicts import Checksum
from sibling_sentinel.domain.manifests.manifest import (
    MAX_MANIFEST_BYTES,
    InvalidManifestError,
    Manifest,
    cross_check,
    parse_manifest,
    parse_rfc3339,
    resolve,
)

from fakes import manifest_body

TARBALL = "backups/corpus/snapshot.tgz"
MANIFEST = "backups/corpus/snapshot.manifest.json"
DIGEST = "sha256:" + "ab" * 32
SHA = hashlib.sha256(b"the tarball").hexdigest()
SHA_B64 = base64.b64encode(hashlib.sha256(b"the tarball").digest()).decode()


def reason_for(body: bytes) -> str:
    with pytest.raises(InvalidManifestError) as raised:
        parse_manifest(body, MANIFEST, TARBALL)
    return str(raised.value)


def test_a_complete_manifest_parses_into_its_fields() -> None:
    # given a manifest with every field, the sha256 included
    body = manifest_body("snapshot.tgz", archive={"relative_path": "snapshot.tgz", "sha256": SHA})
    # when it is parsed
    manifest = parse_manifest(body, MANIFEST, TARBALL)
    # then every field a restore decides on is there, typed
    assert manifest.corpus_format_version == 3
    assert manifest.created_at == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert manifest.git_sha == "0123456789abcdef0123456789abcdef01234567"
    assert manifest.sha256 == SHA
    assert manifest.document["archive"]["relative_path"] == "snapshot.tgz"


def test_bad_json_is_invalid() -> None:
    assert reason_for(b'{"schema_version": 1,').startswith("not JSON")


def test_a_json_array_is_invalid_because_a_manifest_is_an_object() -> None:
    assert reason_for(b"[1, 2]") == "not a JSON object but a JSON array"


def test_bytes_that_are_not_utf8_are_invalid() -> None:
    assert reason_for(b'{"a": "\xff"}') == "not UTF-8 (byte 7)"


def test_a_manifest_over_the_size_cap_is_invalid() -> None:
    assert "cap" in reason_for(b" " * (MAX_MANIFEST_BYTES + 1))


def test_a_duplicated_field_is_invalid() -> None:
    # given a manifest whose format version appears twice (two readers could keep different ones)
    body = manifest_body("snapshot.tgz").replace(
        b'"schema_version": 1', b'"schema_version": 1, "schema_version": 1'
    )
    # then it is invalid, naming the field
    assert reason_for(body) == "field 'schema_version' appears twice"


def test_nan_is_invalid_because_it_is_not_json() -> None:
    assert reason_for(b'{"corpus_format_version": NaN}') == "NaN is not JSON"


def test_an_unknown_schema_version_is_invalid() -> None:
    assert reason_for(manifest_body("snapshot.tgz", schema_version=2)).startswith(
        "schema_version 2 is not a known version"
    )


def test_a_bool_format_version_is_invalid() -> None:
    # given corpus_format_version true (Python would take it for the integer 1)
    body = manifest_body("snapshot.tgz", corpus_format_version=True)
    # then it is invalid, because a bool is not an integer
    assert reason_for(body) == "corpus_format_version must be an integer, got boolean True"


@pytest.mark.parametrize("version", ["3", 3.0, -1])
def test_a_format_version_that_is_a_string_float_or_negative_is_invalid(version: object) -> None:
    assert reason_for(manifest_body("snapshot.tgz", corpus_format_version=version)).startswith(
        "corpus_format_version must be"
    )


@pytest.mark.parametrize(
    "created_at",
    [
        "2026-11-20",
        "2026-11-20T03:00:00",
        "2026-11-20 03:00:00Z",
        "20261120T030000Z",
        "2026-02-30T00:00:00Z",
        0,
    ],
)
def test_a_created_at_that_is_not_rfc3339_is_invalid(created_at: object) -> None:
    assert reason_for(manifest_body("snapshot.tgz", created_at=created_at)).startswith("created_at")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T03:00:00Z", datetime(2026, 11, 20, 3, tzinfo=UTC)),
        ("2026-11-20t03:00:00z", datetime(2026, 11, 20, 3, tzinfo=UTC)),
        ("2026-11-20T03:00:00.123456789Z", datetime(2026, 11, 20, 3, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-20T05:00:00+02:00", datetime(2026, 11, 20, 3, tzinfo=UTC)),
        ("2026-11-20T03:00:00-00:00", datetime(2026, 11, 20, 3, tzinfo=UTC)),
    ],
)
def test_rfc3339_forms_parse_to_the_same_instant(text: str, expected: datetime) -> None:
    # given an RFC 3339 time in lower case, with nanoseconds, or with an offset
    parsed = parse_rfc3339(text, "created_at")
    # then it is the instant it names, and it carries a zone
    assert parsed == expected
    assert parsed.utcoffset() is not None


def test_a_leap_second_is_invalid_because_it_cannot_be_ordered() -> None:
    assert "not a real time" in reason_for(manifest_body("snapshot.tgz", created_at="2016-12-31T23:59:60Z"))


def test_an_offset_is_kept() -> None:
    assert parse_rfc3339("2026-11-20T05:00:00+02:00", "x").tzinfo == timezone(timedelta(hours=2))


def test_a_missing_producer_is_invalid() -> None:
    assert reason_for(manifest_body("snapshot.tgz", producer=None)) == "producer must be an object, got null"


def test_a_producer_without_git_sha_or_image_digest_is_invalid() -> None:
    assert reason_for(manifest_body("snapshot.tgz", producer={"git_sha": None})) == (
        "producer has neither git_sha nor image_digest"
    )


@pytest.mark.parametrize("git_sha", ["abc1234", "g" * 40, "a" * 41, 12345])
def test_a_git_sha_that_is_not_a_full_commit_id_is_invalid(git_sha: object) -> None:
    assert reason_for(manifest_body("snapshot.tgz", producer={"git_sha": git_sha})).startswith(
        "producer.git_sha"
    )


def test_an_image_digest_alone_identifies_the_producer() -> None:
    body = manifest_body("snapshot.tgz", producer={"image_digest": DIGEST})
    assert parse_manifest(body, MANIFEST, TARBALL).image_digest == DIGEST


def test_a_sha256_repository_commit_id_is_accepted() -> None:
    body = manifest_body("snapshot.tgz", producer={"git_sha": "c" * 64})
    assert parse_manifest(body, MANIFEST, TARBALL).git_sha == "c" * 64


@pytest.mark.parametrize("digest", ["sha256:" + "AB" * 32, "sha256:abc", "md5:" + "a" * 32, "ab" * 32])
def test_a_malformed_image_digest_is_invalid(digest: str) -> None:
    body = manifest_body("snapshot.tgz", producer={"git_sha": "a" * 40, "image_digest": digest})
    assert reason_for(body).startswith("producer.image_digest")


def test_a_relative_path_to_another_tarball_is_invalid() -> None:
    # given a manifest beside snapshot.tgz that describes yesterday's tarball
    body = manifest_body("snapshot-old.tgz")
    # then it is invalid, naming where the path leads
    assert reason_for(body) == (
        "archive.relative_path 'snapshot-old.tgz' resolves to 'backups/corpus/snapshot-old.tgz', "
        f"not this tarball {TARBALL!r}"
    )


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/backups/corpus/snapshot.tgz", "is absolute"),
        ("../corpus/snapshot.tgz", "uses '..'"),
        ("sub/../snapshot.tgz", "uses '..'"),
        ("./", "names a folder"),
    ],
)
def test_a_relative_path_that_is_absolute_climbs_or_names_a_folder_is_invalid(path: str, reason: str) -> None:
    assert reason in reason_for(manifest_body(path))


def test_a_dot_segment_resolves_to_the_same_folder() -> None:
    assert resolve(MANIFEST, "./snapshot.tgz") == TARBALL


def test_a_missing_relative_path_is_invalid() -> None:
    body = manifest_body("snapshot.tgz", archive={"sha256": SHA})
    assert reason_for(body) == "archive.relative_path must be a non-empty string"


def test_a_missing_archive_is_invalid() -> None:
    assert reason_for(manifest_body("snapshot.tgz", archive=None)) == "archive must be an object, got null"


def test_a_sha256_that_is_too_short_is_invalid() -> None:
    # given an archive.sha256 of 63 hex characters
    body = manifest_body("snapshot.tgz", archive={"relative_path": "snapshot.tgz", "sha256": SHA[:-1]})
    # then it is invalid, saying how long it is
    assert reason_for(body).startswith("archive.sha256 must be 64 hex characters, got 63")


def test_a_sha256_that_is_not_a_string_is_invalid() -> None:
    body = manifest_body("snapshot.tgz", archive={"relative_path": "snapshot.tgz", "sha256": 12})
    assert reason_for(body) == "archive.sha256 must be a string, got number"


# -- checksum cross-check --------------------------------------------------------------------------------


def manifest_with(sha256: str | None = SHA) -> Manifest:
    archive = {"relative_path": "snapshot.tgz", "sha256": sha256}
    return parse_manifest(manifest_body("snapshot.tgz", archive=archive), MANIFEST, TARBALL)


def test_a_sha256_equal_to_the_full_object_checksum_is_verified() -> None:
    stored = StoredChecksum(SHA_B64, "FULL_OBJECT", multipart=False)
    assert cross_check(manifest_with(), stored)[0] is Checksum.VERIFIED


def test_upper_case_hex_compares_equal() -> None:
    stored = StoredChecksum(SHA_B64, "FULL_OBJECT", multipart=False)
    assert cross_check(manifest_with(SHA.upper()), stored)[0] is Checksum.VERIFIED


def test_a_sha256_that_differs_from_the_full_object_checksum_is_a_mismatch() -> None:
    # given S3 holds a full-object SHA-256 of other bytes
    other = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    # when the manifest's sha256 is compared with it
    with pytest.raises(InvalidManifestError) as raised:
        cross_check(manifest_with(), StoredChecksum(other, "FULL_OBJECT", multipart=False))
    # then it is invalid, with both values in hex
    other_hex = hashlib.sha256(b"other bytes").hexdigest()
    assert str(raised.value) == f"archive.sha256 {SHA} does not match S3's full-object SHA-256 {other_hex}"


@pytest.mark.parametrize(
    "stored",
    [
        StoredChecksum("AAAA-3", "COMPOSITE", multipart=True),
        StoredChecksum("AAAA", None, multipart=True),  # no ChecksumType (moto), multipart ETag
        StoredChecksum("AAAA-3", None, multipart=False),
        StoredChecksum(None, "FULL_OBJECT", multipart=False),  # only a CRC is stored
        None,  # the tarball was deleted since it was listed
    ],
)
def test_a_composite_or_absent_checksum_is_unverifiable_never_a_mismatch(
    stored: StoredChecksum | None,
) -> None:
    assert cross_check(manifest_with(), stored)[0] is Checksum.UNVERIFIABLE


def test_a_manifest_without_sha256_is_unverifiable() -> None:
    checksum, why = cross_check(manifest_with(None), None)
    assert (checksum, why) == (Checksum.UNVERIFIABLE, "the manifest has no archive.sha256")


def test_without_checksum_type_a_single_part_sha256_is_compared() -> None:
    # given an endpoint (moto) that returns ChecksumSHA256 but no ChecksumType, for a single-part upload
    stored = StoredChecksum(SHA_B64, None, multipart=False)
    # then the checksum is compared, and matches
    assert cross_check(manifest_with(), stored)[0] is Checksum.VERIFIED


def test_a_checksum_that_is_not_base64_is_shown_as_given() -> None:
    with pytest.raises(InvalidManifestError, match="'not base64!'"):
        cross_check(manifest_with(), StoredChecksum("not base64!", "FULL_OBJECT", False))
