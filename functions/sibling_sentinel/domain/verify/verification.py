"""Verifying a backup by its bytes: one pass over the stored tarball gives its SHA-256 and its entry
names, which are compared with the manifest's `archive.sha256` and with the `.list.txt` listing.

Metadata can say a listing is there and big enough; only the bytes say it is the right one. A tarball
that cannot be read to its end is a finding of its own (`corrupt`), and what was read of it before the
damage is never compared as if it were the whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..core.objects import ListedObject
from ..manifests.manifest import InvalidManifestError, parse_manifest
from .compression import CorruptStreamError, StoredBytes, ZstdFrames, decompressed
from .tar_stream import TarEntry, UnreadableTarError, listed_name, tar_entries, tar_t_line, unescape_line

FIRST_FEW = 5  # names shown of each side of a mismatch; the counts say how many there are


class Outcome(StrEnum):
    """One tarball's verification, worst first."""

    CORRUPT = "corrupt"  # cannot be read to its end
    MISMATCH = "mismatch"  # the listing or the manifest's sha256 does not match the bytes
    MISSING = "missing"  # no listing to compare with
    OK = "ok"


class ListingState(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    MISSING = "missing"
    INCOMPLETE = "incomplete"  # the tarball could not be read to its end, so nothing is claimed


class ChecksumState(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NO_MANIFEST = "no-manifest"
    NO_SHA256 = "no-sha256"  # the manifest gives no archive.sha256
    INVALID_MANIFEST = "invalid-manifest"


@dataclass(frozen=True)
class ManifestEvidence:
    """What the manifest beside the tarball says about its bytes, read before the tarball is."""

    key: str
    present: bool
    sha256: str | None = None
    problem: str | None = None  # why it is invalid

    @classmethod
    def of(cls, body: bytes | None, manifest_key: str, tarball_key: str) -> ManifestEvidence:
        if body is None:
            return cls(manifest_key, present=False)
        try:
            manifest = parse_manifest(body, manifest_key, tarball_key)
        except InvalidManifestError as e:
            return cls(manifest_key, present=True, problem=str(e))
        return cls(manifest_key, present=True, sha256=manifest.sha256.lower() if manifest.sha256 else None)


class ExpectedNames:
    """The listing's lines as a multiset of names (tar allows a name twice), each struck off as the
    tarball's entries go by; entries it never held are counted, and the first few kept."""

    def __init__(self, listing: bytes) -> None:
        self.listed = Counter(_listing_names(listing))
        self.lines = sum(self.listed.values())
        self.unlisted = 0
        self.first_unlisted: list[str] = []

    def strike(self, entry: TarEntry) -> None:
        name = listed_name(entry.name)
        if not name:
            return
        if self.listed[name] > 0:
            self.listed[name] -= 1
            return
        self.unlisted += 1
        if len(self.first_unlisted) < FIRST_FEW:
            self.first_unlisted.append(shown(name))

    def not_in_tarball(self) -> tuple[int, list[str]]:
        left = [(name, n) for name, n in self.listed.items() if n > 0]
        count = sum(n for _, n in left)
        return count, [shown(name) for name, _ in left[:FIRST_FEW]]


def listing_names(listing: bytes) -> Counter[bytes]:
    """The names a listing holds, as `verify` compares them."""
    return Counter(_listing_names(listing))


def _listing_names(listing: bytes) -> Iterator[bytes]:
    for line in listing.split(b"\n"):
        name = listed_name(unescape_line(line.removesuffix(b"\r")))
        if name:
            yield name


def shown(name: bytes) -> str:
    return name.decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Verification:
    """The result for one tarball; `to_dict` is the `verify --format json` object."""

    bucket: str
    key: str
    etag: str
    size: int
    compression: str
    bytes_read: int
    sha256: str
    entries: int
    corruption: str | None
    listing_key: str
    listing: ListingState
    listing_lines: int
    unlisted: int
    first_unlisted: list[str]
    not_in_tarball: int
    first_not_in_tarball: list[str]
    manifest: ManifestEvidence
    checksum: ChecksumState
    findings: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        if self.corruption is not None:
            return Outcome.CORRUPT
        if self.listing is ListingState.MISMATCH or self.checksum in (
            ChecksumState.MISMATCH,
            ChecksumState.INVALID_MANIFEST,
        ):
            return Outcome.MISMATCH
        if self.listing is ListingState.MISSING:
            return Outcome.MISSING
        return Outcome.OK

    @property
    def problems(self) -> int:
        return len(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
            "compression": self.compression,
            "verdict": self.outcome.value,
            "problems": self.problems,
            "findings": self.findings,
            "bytes_read": self.bytes_read,
            "sha256": self.sha256,
            "entries": self.entries,
            "readable": self.corruption is None,
            "corruption": self.corruption,
            "listing": {
                "key": self.listing_key,
                "state": self.listing.value,
                "lines": self.listing_lines,
                "missing_from_listing": {"count": self.unlisted, "first": self.first_unlisted},
                "not_in_tarball": {"count": self.not_in_tarball, "first": self.first_not_in_tarball},
            },
            "manifest": {
                "key": self.manifest.key,
                "present": self.manifest.present,
                "sha256": self.manifest.sha256,
                "problem": self.manifest.problem,
                "checksum": self.checksum.value,
            },
        }


def stream_entries(chunks: Iterable[bytes], compression: str) -> tuple[StoredBytes, Iterator[TarEntry]]:
    """The stored bytes (counted, hashed) and the tar entries read from them, in one pass.

    Iterating the entries to their end reads every stored byte; it raises UnreadableTarError or
    CorruptStreamError for a tarball that cannot be read to its end.
    """
    frames = ZstdFrames() if compression == "zstd" else None
    stored = StoredBytes(chunks, frames.feed if frames is not None else None)

    def entries() -> Iterator[TarEntry]:
        yield from tar_entries(decompressed(stored, compression, frames))
        stored.drain()

    return stored, entries()


def verify_tarball(
    bucket: str,
    tarball: ListedObject,
    compression: str,
    chunks: Iterable[bytes],
    listing_key: str,
    listing: bytes | None,
    manifest: ManifestEvidence,
) -> Verification:
    """Reads the stored tarball once; compares its entries with the listing, its SHA-256 with the
    manifest's. Errors reading the stream itself (network, access) propagate: they are not findings."""
    expected = ExpectedNames(listing) if listing is not None else None
    stored, entries = stream_entries(chunks, compression)
    count = 0
    corruption = None
    try:
        for entry in entries:
            count += 1
            if expected is not None:
                expected.strike(entry)
    except (UnreadableTarError, CorruptStreamError) as e:
        corruption = str(e)
        stored.drain()  # the SHA-256 still covers every stored byte
    sha256 = stored.sha256.hexdigest()
    missing_count, first_missing = expected.not_in_tarball() if expected is not None else (0, [])
    listing_state = _listing_state(expected, corruption, missing_count)
    checksum = _checksum_state(manifest, sha256)
    result = Verification(
        bucket=bucket,
        key=tarball.key,
        etag=tarball.etag,
        size=tarball.size,
        compression=compression,
        bytes_read=stored.size,
        sha256=sha256,
        entries=count,
        corruption=corruption,
        listing_key=listing_key,
        listing=listing_state,
        listing_lines=expected.lines if expected is not None else 0,
        unlisted=expected.unlisted if expected is not None else 0,
        first_unlisted=expected.first_unlisted if expected is not None else [],
        not_in_tarball=missing_count,
        first_not_in_tarball=first_missing,
        manifest=manifest,
        checksum=checksum,
    )
    result.findings.extend(_findings(result))
    return result


def _listing_state(expected: ExpectedNames | None, corruption: str | None, missing: int) -> ListingState:
    if expected is None:
        return ListingState.MISSING
    if corruption is not None:
        return ListingState.INCOMPLETE
    return ListingState.MATCH if not expected.unlisted and not missing else ListingState.MISMATCH


def _checksum_state(manifest: ManifestEvidence, sha256: str) -> ChecksumState:
    """Every stored byte is hashed, past any damage too, so the comparison holds for a corrupt tarball."""
    if not manifest.present:
        return ChecksumState.NO_MANIFEST
    if manifest.problem is not None:
        return ChecksumState.INVALID_MANIFEST
    if manifest.sha256 is None:
        return ChecksumState.NO_SHA256
    return ChecksumState.MATCH if manifest.sha256 == sha256 else ChecksumState.MISMATCH


def _findings(v: Verification) -> Iterator[str]:
    """One line per problem, in the words an operator acts on."""
    if v.corruption is not None:
        yield f"corrupt: cannot be read to its end: {v.corruption}"
    if v.listing is ListingState.MISSING:
        yield f"listing missing: {v.listing_key} does not exist"
    if v.listing is ListingState.MISMATCH:
        yield (
            f"listing mismatch: {v.unlisted} entries of the tarball are not in the listing, "
            f"{v.not_in_tarball} lines of the listing are not in the tarball"
        )
    if v.checksum is ChecksumState.MISMATCH:
        yield (
            f"checksum mismatch: the manifest's archive.sha256 {v.manifest.sha256} is not the {v.sha256} read"
        )
    if v.checksum is ChecksumState.INVALID_MANIFEST:
        yield f"manifest invalid: {v.manifest.problem}"


def regenerated_listing(chunks: Iterable[bytes], compression: str) -> tuple[bytes, int, int]:
    """The listing `tar -t` would print for the stored tarball (in a UTF-8 locale), its entry count and
    the stored bytes read. Raises UnreadableTarError or CorruptStreamError: a listing of part of a
    tarball is never written."""
    stored, entries = stream_entries(chunks, compression)
    lines = [tar_t_line(entry.name) + b"\n" for entry in entries]
    return b"".join(lines), len(lines), stored.size
