"""`verify` and `repair` of one tarball, over ports: which objects exist, and their bytes.

Verification reads the tarball once, as the object that was listed (its ETag is a condition of the
read), so the listing and manifest are compared with exactly the bytes that were judged. Repair writes
only a listing that is missing, undersized or stale, only after reading its tarball to the end, and only
with a condition that fails if someone else wrote the listing in the meantime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ...errors import ConfigError, ObjectChangedError, ObjectNotFoundError
from ..core.rules import Anchor
from ..core.tarballs import TarballNaming
from ..core.verdicts import Policy, Verdict, fits_in_s3
from ..manifests.manifest import MAX_MANIFEST_BYTES
from ..manifests.one_tarball import check_tarball
from ..ports import ListingWrites, ObjectStore, TarballBytes
from .compression import CorruptStreamError, compression_of, require_codec
from .tar_stream import UnreadableTarError
from .verification import ManifestEvidence, Verification, listing_names, regenerated_listing, verify_tarball

LISTING_SUFFIX = ".list.txt"
REPAIRABLE = frozenset({Verdict.MISSING, Verdict.UNDERSIZED, Verdict.STALE})


def listing_key_of(tarball_key: str) -> str:
    return tarball_key + LISTING_SUFFIX


def verify_key(
    store: ObjectStore, source: TarballBytes, bucket: str, key: str, naming: TarballNaming
) -> Verification:
    """Streams the tarball once; its entries against the listing, its SHA-256 against the manifest's."""
    compression = _compression(key, naming)
    listing_key = listing_key_of(key)
    manifest_key = naming.stem(key) + ".manifest.json"
    found = store.find(bucket, [k for k in (key, listing_key, manifest_key) if fits_in_s3(k)])
    tarball = found.get(key)
    if tarball is None:
        raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist")
    listing = source.read_whole(bucket, listing_key) if listing_key in found else None
    body = source.read_manifest(bucket, manifest_key, MAX_MANIFEST_BYTES) if manifest_key in found else None
    manifest = ManifestEvidence.of(body, manifest_key, key)
    chunks = source.stream(bucket, key, tarball.etag)
    return verify_tarball(bucket, tarball, compression, chunks, listing_key, listing, manifest)


def _compression(key: str, naming: TarballNaming) -> str:
    if not naming.is_tarball(key):
        raise ConfigError(f"{key!r} is not a tarball (its name has none of the tarball extensions)")
    compression = compression_of(key)
    require_codec(compression)
    return compression


class RepairAction(StrEnum):
    WRITTEN = "written"
    WOULD_WRITE = "would-write"
    NOT_NEEDED = "not-needed"
    REFUSED = "refused"


@dataclass(frozen=True)
class Repair:
    """What repair did (or would do) for one tarball's listing, and why."""

    key: str
    listing_key: str
    judged: str  # the listing's verdict when judged
    action: RepairAction
    condition: str  # the write's precondition: "If-None-Match: *" or "If-Match: <etag>"
    reason: str
    tarball_etag: str = ""
    entries: int = 0
    listing_bytes: int = 0

    @property
    def is_problem(self) -> bool:
        """A listing that needed writing and was not: it is still missing, undersized or stale."""
        return self.action is RepairAction.REFUSED

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "listing": self.listing_key,
            "judged": self.judged,
            "action": self.action.value,
            "condition": self.condition,
            "reason": self.reason,
            "tarball_etag": self.tarball_etag,
            "entries": self.entries,
            "listing_bytes": self.listing_bytes,
        }


def under_prefix(key: str, prefix: str) -> bool:
    return key.startswith(prefix) and key.endswith(LISTING_SUFFIX)


def repair_listing(
    store: ObjectStore,
    source: TarballBytes,
    writes: ListingWrites,
    bucket: str,
    key: str,
    policy: Policy,
    now: datetime,
    prefix: str,
    write: bool,
    mismatched: bool = False,
) -> Repair:
    """Judges the listing now (a report may be old), then regenerates it from the tarball's bytes.

    The tarball is read as the ETag judged, and the listing written on the condition that it is as
    judged: absent (If-None-Match) or the same object (If-Match). Pending listings are left alone,
    because the producer may still be writing them. With `mismatched`, a listing that passes every
    metadata rule is also read, and rewritten (If-Match) when its names are not the tarball's: the
    listing cut short by a failed pipe, or copied from another backup, that only `verify` sees.
    """
    compression = _compression(key, policy.naming)
    listing_key = listing_key_of(key)
    verdict = check_tarball(store, bucket, key, policy, now)
    result = next(r for r in verdict.results if r.rule.anchor is Anchor.KEY and r.sibling_key == listing_key)
    tarball_etag = verdict.tarball.etag
    replaces = result.sibling.etag if result.sibling is not None else None
    condition = "If-None-Match: *" if replaces is None else f"If-Match: {replaces}"

    def outcome(action: RepairAction, reason: str, entries: int = 0, size: int = 0) -> Repair:
        return Repair(
            key, listing_key, result.verdict.value, action, condition, reason, tarball_etag, entries, size
        )

    checks_content = mismatched and result.verdict is Verdict.OK and replaces is not None
    if result.verdict not in REPAIRABLE and not checks_content:
        return outcome(RepairAction.NOT_NEEDED, f"the listing is {result.verdict.value}: {result.reason}")
    if not under_prefix(listing_key, prefix):
        return outcome(RepairAction.REFUSED, f"{listing_key!r} is not a listing under {prefix!r}")
    if not fits_in_s3(listing_key):
        return outcome(RepairAction.REFUSED, "the listing's key would be longer than S3's 1,024 bytes")
    if not write and not checks_content:
        return outcome(RepairAction.WOULD_WRITE, f"would regenerate the {result.verdict.value} listing")
    try:
        body, entries, _ = regenerated_listing(source.stream(bucket, key, tarball_etag), compression)
    except (UnreadableTarError, CorruptStreamError) as e:
        return outcome(RepairAction.REFUSED, f"the tarball is corrupt, so no listing is written: {e}")
    except ObjectChangedError as e:
        return outcome(RepairAction.REFUSED, str(e))
    if checks_content:
        current = source.read_whole(bucket, listing_key) or b""
        if listing_names(current) == listing_names(body):
            return outcome(RepairAction.NOT_NEEDED, "the listing matches the tarball's entries", entries)
        if not write:
            return Repair(
                key,
                listing_key,
                "mismatch",
                RepairAction.WOULD_WRITE,
                condition,
                "would rewrite the mismatched listing",
                tarball_etag,
                entries,
                len(body),
            )
    try:
        writes.put_listing(bucket, listing_key, body, tarball_etag, replaces)
    except ObjectChangedError as e:
        return outcome(RepairAction.REFUSED, str(e), entries, len(body))
    small = len(body) < result.rule.min_bytes
    note = f"; {len(body)} bytes is still below the {result.rule.min_bytes}-byte minimum" if small else ""
    if checks_content:
        return Repair(
            key,
            listing_key,
            "mismatch",
            RepairAction.WRITTEN,
            condition,
            f"rewrote the mismatched listing{note}",
            tarball_etag,
            entries,
            len(body),
        )
    return outcome(
        RepairAction.WRITTEN, f"regenerated the {result.verdict.value} listing{note}", entries, len(body)
    )
