"""The snapshot manifest (`{stem}.manifest.json`): what a valid one holds, and its checksum against S3's.

A restore reads the manifest instead of the tarball to decide whether the deployed reader can open
the backup, so a manifest that parses loosely is worse than none: every rule here fails closed, with
a reason an operator can act on. Only the manifest's bytes are read, never the tarball's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.objects import StoredChecksum
from ..core.rules import folder_of
from ..core.verdicts import Checksum

MAX_MANIFEST_BYTES = 64 * 1024  # a manifest is a few hundred bytes; the cap bounds what a sweep holds
KNOWN_SCHEMA_VERSIONS = frozenset({1})

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# Full object names only: 40 hex (SHA-1 repositories) or 64 (SHA-256 repositories). An abbreviated
# sha becomes ambiguous as a repository grows, so it is no audit trail.
_GIT_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
# OCI image spec: sha256 and sha512 digests, encoded as lower-case hex.
_IMAGE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
# RFC 3339 `date-time`: a full date, `T`, a full time and an offset (`Z` or +hh:mm); T and Z in any case.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


class InvalidManifestError(ValueError):
    """The manifest's content fails validation; the message is the reason shown with `invalid`."""


@dataclass(frozen=True)
class Manifest:
    """A manifest that passed every rule, with the fields a restore decides on."""

    key: str
    schema_version: int
    corpus_format_version: int
    created_at: datetime
    git_sha: str | None
    image_digest: str | None
    relative_path: str
    sha256: str | None
    document: dict[str, Any]


def parse_manifest(body: bytes, manifest_key: str, tarball_key: str) -> Manifest:
    """The manifest in `body`, or InvalidManifestError naming the first rule it breaks."""
    if len(body) > MAX_MANIFEST_BYTES:
        raise InvalidManifestError(f"larger than the {MAX_MANIFEST_BYTES}-byte cap")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidManifestError(f"not UTF-8 (byte {e.start})") from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        raise InvalidManifestError(f"not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(doc, dict):
        raise InvalidManifestError(f"not a JSON object but a JSON {_json_type(doc)}")
    schema_version = _integer(doc, "schema_version")
    if schema_version not in KNOWN_SCHEMA_VERSIONS:
        known = ", ".join(str(v) for v in sorted(KNOWN_SCHEMA_VERSIONS))
        raise InvalidManifestError(f"schema_version {schema_version} is not a known version (known: {known})")
    format_version = _integer(doc, "corpus_format_version")
    created_at = parse_rfc3339(doc.get("created_at"), "created_at")
    git_sha, image_digest = _producer(doc.get("producer"))
    archive = doc.get("archive")
    if not isinstance(archive, dict):
        raise InvalidManifestError(f"archive must be an object, got {_json_type(archive)}")
    relative_path = archive.get("relative_path")
    if not isinstance(relative_path, str) or not relative_path:
        raise InvalidManifestError("archive.relative_path must be a non-empty string")
    resolved = resolve(manifest_key, relative_path)
    if resolved != tarball_key:
        raise InvalidManifestError(
            f"archive.relative_path {relative_path!r} resolves to {resolved!r}, "
            f"not this tarball {tarball_key!r}"
        )
    sha256 = _optional_text(archive, "sha256", "archive.sha256")
    if sha256 is not None and not _HEX64.fullmatch(sha256):
        raise InvalidManifestError(f"archive.sha256 must be 64 hex characters, got {len(sha256)}: {sha256!r}")
    return Manifest(
        manifest_key,
        schema_version,
        format_version,
        created_at,
        git_sha,
        image_digest,
        relative_path,
        sha256,
        doc,
    )


def resolve(manifest_key: str, relative_path: str) -> str:
    """The key `relative_path` names, read from the manifest's folder.

    `.` segments are dropped. An absolute path or any `..` is refused: a manifest describes the
    tarball beside it, so it never needs to climb, and a path that climbs is a path that can lie.
    """
    if relative_path.startswith("/"):
        raise InvalidManifestError(f"archive.relative_path {relative_path!r} is absolute")
    segments = [s for s in relative_path.split("/") if s != "."]
    if ".." in segments:
        raise InvalidManifestError(f"archive.relative_path {relative_path!r} uses '..'")
    if not segments or not segments[-1]:
        raise InvalidManifestError(f"archive.relative_path {relative_path!r} names a folder, not a file")
    return folder_of(manifest_key) + "/".join(segments)


def parse_rfc3339(value: Any, name: str) -> datetime:
    """An RFC 3339 `date-time`, always with an offset; `fromisoformat` alone accepts far more."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise InvalidManifestError(f"{name} must be an RFC 3339 date-time with an offset, got {value!r}")
    normal = value.upper().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(normal)
    except ValueError as e:  # 2026-02-30, 25:00, or a leap second, which datetime cannot hold
        raise InvalidManifestError(f"{name} {value!r} is not a real time: {e}") from None


def _producer(producer: Any) -> tuple[str | None, str | None]:
    if not isinstance(producer, dict):
        raise InvalidManifestError(f"producer must be an object, got {_json_type(producer)}")
    git_sha = _optional_text(producer, "git_sha", "producer.git_sha")
    image_digest = _optional_text(producer, "image_digest", "producer.image_digest")
    if git_sha is None and image_digest is None:
        raise InvalidManifestError("producer has neither git_sha nor image_digest")
    if git_sha is not None and not _GIT_SHA.fullmatch(git_sha):
        raise InvalidManifestError(
            f"producer.git_sha must be a full 40- or 64-hex commit id, got {git_sha!r}"
        )
    if image_digest is not None and not _IMAGE_DIGEST.fullmatch(image_digest):
        raise InvalidManifestError(
            f"producer.image_digest must look like 'sha256:<64 lower-case hex>', got {image_digest!r}"
        )
    return git_sha, image_digest


def _integer(doc: dict[str, Any], name: str) -> int:
    value = doc.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidManifestError(f"{name} must be an integer, got {_json_type(value)} {value!r}")
    if value < 0:
        raise InvalidManifestError(f"{name} must be 0 or more, got {value}")
    return value


def _optional_text(doc: dict[str, Any], field: str, name: str) -> str | None:
    """A string, or None when the field is absent or null."""
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidManifestError(f"{name} must be a string, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Two readers may keep different copies of a duplicated field, so a duplicate is refused."""
    doc: dict[str, Any] = {}
    for name, value in pairs:
        if name in doc:
            raise InvalidManifestError(f"field {name!r} appears twice")
        doc[name] = value
    return doc


def _no_constants(name: str) -> Any:
    raise InvalidManifestError(f"{name} is not JSON")


def cross_check(manifest: Manifest, stored: StoredChecksum | None) -> tuple[Checksum, str]:
    """VERIFIED or UNVERIFIABLE with why; a mismatch raises InvalidManifestError.

    Only a full-object SHA-256 can be compared. A multipart upload's SHA-256 is a checksum of its
    parts' checksums, so it is unverifiable, never a mismatch. When S3 does not give ChecksumType,
    a `-N` suffix on the checksum or the ETag marks the upload as multipart, hence composite.
    """
    if manifest.sha256 is None:
        return Checksum.UNVERIFIABLE, "the manifest has no archive.sha256"
    if stored is None:
        return Checksum.UNVERIFIABLE, "the tarball was gone when its checksum was read"
    if stored.sha256 is None:
        return Checksum.UNVERIFIABLE, "S3 holds no SHA-256 for the tarball"
    composite = stored.checksum_type == "COMPOSITE" or (
        stored.checksum_type is None and (stored.multipart or "-" in stored.sha256)
    )
    if composite or stored.checksum_type not in (None, "FULL_OBJECT"):
        return Checksum.UNVERIFIABLE, "S3's SHA-256 is a multipart (composite) checksum"
    expected = base64.b64encode(bytes.fromhex(manifest.sha256)).decode("ascii")
    if stored.sha256 != expected:
        raise InvalidManifestError(
            f"archive.sha256 {manifest.sha256.lower()} does not match S3's full-object SHA-256 "
            f"{_as_hex(stored.sha256)}"
        )
    return Checksum.VERIFIED, "archive.sha256 matches S3's full-object SHA-256"


def _as_hex(b64: str) -> str:
    try:
        return base64.b64decode(b64, validate=True).hex()
    except (binascii.Error, ValueError):
        return repr(b64)
