"""The nightly sampled verification: a rotating share of the tarballs, read byte for byte.

Which tarballs a night takes is decided by the key's hash, not by chance: a tarball's slot is
`sha256(key) mod N`, and night `d` (days since 0001-01-01, UTC) verifies slot `d mod N`, so every
tarball comes up once in every cycle of N nights, whatever else changes. Within tonight's slot the
newest backups go first, up to the byte budget. A tarball that one invocation cannot read in its time
(too big for its compression's measured speed), or that the budget or the clock leaves for later, is
named in the report as not verified, never counted as verified.

With auto-repair on (`missing`), tarballs whose listing is missing past the grace period come first:
each is read once, and the listing regenerated from that read is written with `If-None-Match: *`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from ..errors import ConfigError, ObjectChangedError, SentinelError
from .compression import compression_of
from .event_path import Counter, Log
from .objects import ListedObject
from .sweep import ObjectStore
from .tarballs import TarballNaming
from .verdicts import Policy
from .verify import LISTING_SUFFIX, ListingWrites, RepairAction, TarballBytes, repair_listing, verify_key

# Stored bytes per second one vCPU verifies, planned at half of what `make bench-verify` measured per
# CPU-second (docs/BENCHMARKS.md): a Lambda vCPU is slower than the bench machine's core, and real
# backups compress better than the bench's half-incompressible data, so fewer stored bytes go by per
# second of decoding. Used to leave out tarballs one invocation cannot finish, and to stop before a
# tarball that would not finish in the time left.
VERIFY_BYTES_PER_S: dict[str, float] = {
    "none": 450e6,
    "gzip": 190e6,
    "bzip2": 4e6,
    "xz": 120e6,
    "zstd": 320e6,
    "lz4": 200e6,
}
SAFETY = 0.8  # of the measured speed: S3's GET is slower than a loopback endpoint
RESERVE_S = 60.0  # kept back for the report and the metrics


class AutoRepair(StrEnum):
    OFF = "off"
    MISSING = "missing"


def slot_of(key: str, nights: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % nights


def night_of(now: datetime, nights: int) -> int:
    return now.date().toordinal() % nights


def seconds_to_verify(tarball: ListedObject, compression: str) -> float:
    return tarball.size / (VERIFY_BYTES_PER_S[compression] * SAFETY)


def largest_verifiable(compression: str, invocation_s: float) -> int:
    """The biggest tarball of this compression one invocation of `invocation_s` seconds reads."""
    return int((invocation_s - RESERVE_S) * VERIFY_BYTES_PER_S[compression] * SAFETY)


class Lister(Protocol):
    def pages(self, bucket: str, prefix: str) -> Iterator[Sequence[ListedObject]]: ...


class JsonReports(Protocol):
    def put_json(self, key: str, document: dict[str, Any]) -> str: ...


@dataclass
class Tonight:
    """Tonight's candidates from one listing: the rotation's slot and the tarballs without a listing."""

    slot: list[ListedObject] = field(default_factory=list)
    unlisted: list[ListedObject] = field(default_factory=list)
    tarballs: int = 0


def tonight(
    pages: Iterable[Sequence[ListedObject]], naming: TarballNaming, night: int, nights: int
) -> Tonight:
    """Keeps only tonight's slot and the tarballs whose `.list.txt` is absent.

    A listing sorts after its tarball (`k` < `k.list.txt`), so a tarball waits in a small window
    until the listing goes by or a key past it does: memory is tonight's share, not the bucket.
    """
    found = Tonight()
    waiting: deque[tuple[str, ListedObject]] = deque()
    for page in pages:
        for obj in page:
            while waiting and waiting[0][0] < obj.key:
                found.unlisted.append(waiting.popleft()[1])
            if waiting and waiting[0][0] == obj.key:
                waiting.popleft()
            if naming.is_tarball(obj.key):
                found.tarballs += 1
                waiting.append((obj.key + LISTING_SUFFIX, obj))
                if slot_of(obj.key, nights) == night:
                    found.slot.append(obj)
    found.unlisted.extend(t for _, t in waiting)
    return found


@dataclass
class NightReport:
    started_at: str
    night: int
    nights: int
    budget_bytes: int
    tarballs: int = 0
    verified: list[dict[str, Any]] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    not_verified: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    bytes_read: int = 0

    def count(self, verdict: str) -> int:
        return sum(v["verdict"] == verdict for v in self.verified)

    @property
    def listing_mismatches(self) -> int:
        return sum(v["listing"]["state"] == "mismatch" for v in self.verified)

    @property
    def checksum_mismatches(self) -> int:
        return sum(v["manifest"]["checksum"] in ("mismatch", "invalid-manifest") for v in self.verified)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "night": self.night,
            "nights": self.nights,
            "budget_bytes": self.budget_bytes,
            "tarballs": self.tarballs,
            "bytes_read": self.bytes_read,
            "counts": {
                "verified": len(self.verified),
                "ok": self.count("ok"),
                "corrupt": self.count("corrupt"),
                "listing_mismatches": self.listing_mismatches,
                "checksum_mismatches": self.checksum_mismatches,
                "repaired": sum(r["action"] == RepairAction.WRITTEN for r in self.repairs),
                "not_verified": len(self.not_verified),
                "errors": len(self.errors),
            },
            "verified": self.verified,
            "repairs": self.repairs,
            "not_verified": self.not_verified,
            "errors": self.errors,
        }


@dataclass
class SampledVerification:
    lister: Lister
    store: ObjectStore
    source: TarballBytes
    writes: ListingWrites | None  # None unless AutoRepair is `missing`
    reports: JsonReports
    metrics: Counter
    log: Log
    policy: Policy
    bucket: str
    prefix: str
    report_prefix: str
    nights: int
    budget_bytes: int
    clock: Callable[[], datetime]

    def run(self, remaining_s: Callable[[], float], invocation_s: float = 900.0) -> dict[str, Any]:
        now = self.clock()
        night = night_of(now, self.nights)
        report = NightReport(now.isoformat(), night, self.nights, self.budget_bytes)
        found = tonight(self.lister.pages(self.bucket, self.prefix), self.policy.naming, night, self.nights)
        report.tarballs = found.tarballs
        budget = self.budget_bytes
        if self.writes is not None:
            overdue = [
                t for t in found.unlisted if (now - t.last_modified).total_seconds() > self.policy.grace_s
            ]
            self._repair(overdue, report, now, budget, remaining_s, invocation_s)
        repaired = {r["key"] for r in report.repairs if r["action"] == RepairAction.WRITTEN}
        rotation = sorted(
            (t for t in found.slot if t.key not in repaired),
            key=lambda t: (t.last_modified, t.key),
            reverse=True,
        )
        self._verify(rotation, report, budget, remaining_s, invocation_s)
        self._publish(report)
        key = f"{self.report_prefix}verify/{now:%Y/%m/%d/%H%M%S}.json"
        uri = self.reports.put_json(key, report.to_dict())
        self.log.info("sampled verification done", extra={"report": uri, **report.to_dict()["counts"]})
        return {"report": uri, **report.to_dict()["counts"]}

    def _skip(self, tarball: ListedObject, report: NightReport, reason: str) -> None:
        report.not_verified.append({"key": tarball.key, "size": tarball.size, "reason": reason})
        self.log.warning("tarball not verified", extra={"key": tarball.key, "reason": reason})

    def _fits(
        self,
        tarball: ListedObject,
        report: NightReport,
        budget: int,
        remaining_s: Callable[[], float],
        invocation_s: float,
    ) -> str | None:
        """Why this tarball is not read tonight, or None when it is."""
        try:
            compression = compression_of(tarball.key)
        except ValueError as e:
            return str(e)
        if tarball.size > largest_verifiable(compression, invocation_s):
            limit = largest_verifiable(compression, invocation_s)
            return f"too big for one invocation: {compression} verifies at most {limit} bytes in one"
        if tarball.size > budget - report.bytes_read:
            return "over tonight's byte budget; it comes up again next cycle"
        if seconds_to_verify(tarball, compression) + RESERVE_S > remaining_s():
            return "out of time in this invocation"
        return None

    def _repair(
        self,
        unlisted: list[ListedObject],
        report: NightReport,
        now: datetime,
        budget: int,
        remaining_s: Callable[[], float],
        invocation_s: float,
    ) -> None:
        assert self.writes is not None
        for tarball in unlisted:
            why = self._fits(tarball, report, budget, remaining_s, invocation_s)
            if why is not None:
                self._skip(tarball, report, f"listing missing, not repaired: {why}")
                continue
            try:
                repair = repair_listing(
                    self.store,
                    self.source,
                    self.writes,
                    self.bucket,
                    tarball.key,
                    self.policy,
                    now,
                    self.prefix,
                    write=True,
                )
            except (SentinelError, ConfigError) as e:
                report.errors.append({"key": tarball.key, "error": str(e)})
                continue
            report.bytes_read += tarball.size if repair.action is RepairAction.WRITTEN else 0
            report.repairs.append(repair.to_dict())
            if repair.action is RepairAction.WRITTEN:
                self.log.info("listing repaired", extra=repair.to_dict())
            elif repair.action is RepairAction.REFUSED:
                self.log.warning("listing not repaired", extra=repair.to_dict())

    def _verify(
        self,
        rotation: list[ListedObject],
        report: NightReport,
        budget: int,
        remaining_s: Callable[[], float],
        invocation_s: float,
    ) -> None:
        for tarball in rotation:
            why = self._fits(tarball, report, budget, remaining_s, invocation_s)
            if why is not None:
                self._skip(tarball, report, why)
                continue
            try:
                result = verify_key(self.store, self.source, self.bucket, tarball.key, self.policy.naming)
            except ObjectChangedError as e:
                self._skip(tarball, report, f"rewritten while it was read: {e}")
                continue
            except (SentinelError, ConfigError) as e:
                report.errors.append({"key": tarball.key, "error": str(e)})
                continue
            report.bytes_read += result.bytes_read
            report.verified.append(result.to_dict())
            if result.problems:
                self.log.warning("tarball verification found problems", extra=result.to_dict())

    def _publish(self, report: NightReport) -> None:
        self.metrics.count("TarballsVerified", len(report.verified))
        self.metrics.count("ListingMismatches", report.listing_mismatches)
        self.metrics.count("TarballsCorrupt", report.count("corrupt"))
        self.metrics.count("ChecksumMismatches", report.checksum_mismatches)
        self.metrics.count(
            "ListingsRepaired", sum(r["action"] == RepairAction.WRITTEN for r in report.repairs)
        )
        self.metrics.count("TarballsNotVerified", len(report.not_verified) + len(report.errors))
