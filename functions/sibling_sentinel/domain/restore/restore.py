"""Which backup to restore: the newest whose manifest is valid and whose format the reader supports.

It fails closed (seed ADR 004): when nothing qualifies there is no choice, only the reason, because a
wrong-version restore during an incident is worse than a restore that waits for a human pin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..core.rules import MANIFEST
from ..core.verdicts import Policy, TarballVerdict
from ..manifests.inspection import Inspected, ManifestReads, Staged
from ..manifests.manifest import Manifest
from ..manifests.one_tarball import check_tarball
from ..ports import Lister, ObjectStore
from ..sweep.reconcile import reconcile
from ..sweep.report import iso_z  # one UTC "Z" format for every report


class Standing(StrEnum):
    """Why a candidate was or was not chosen; stable names for scripts that read the JSON."""

    RESTORABLE = "restorable"
    NOT_NEWEST = "not_newest"
    UNSUPPORTED_FORMAT_VERSION = "unsupported_format_version"
    INVALID_MANIFEST = "invalid_manifest"
    SIBLING_MISSING = "sibling_missing"


@dataclass(frozen=True)
class Candidate:
    verdict: TarballVerdict
    manifest: Manifest | None
    standing: Standing
    reason: str

    @property
    def key(self) -> str:
        return self.verdict.tarball.key

    @property
    def order(self) -> tuple[datetime, str]:
        """Newest by the manifest's created_at, the key breaking ties; the upload time when no manifest."""
        when = self.manifest.created_at if self.manifest else self.verdict.tarball.last_modified
        return when, self.key

    def to_dict(self, bucket: str, with_manifest: bool = False) -> dict[str, Any]:
        manifest_result = self.verdict.result_of(MANIFEST)
        document = {"manifest": self.manifest.document if self.manifest else None} if with_manifest else {}
        return {
            "key": self.key,
            "uri": f"s3://{bucket}/{self.key}",
            "standing": self.standing.value,
            "reason": self.reason,
            "created_at": iso_z(self.manifest.created_at) if self.manifest else None,
            "corpus_format_version": self.manifest.corpus_format_version if self.manifest else None,
            "checksum": manifest_result.checksum.value
            if manifest_result and manifest_result.checksum
            else None,
            "manifest_key": manifest_result.sibling_key if manifest_result else None,
            "size": self.verdict.tarball.size,
            "last_modified": iso_z(self.verdict.tarball.last_modified),
            **document,
        }


def candidate_of(inspected: Inspected, supports: frozenset[int]) -> Candidate:
    verdict, manifest = inspected.verdict, inspected.manifest
    if manifest is None:
        result = verdict.result_of(MANIFEST)
        reason = result.reason if result else "no manifest rule"
        absent = result is None or result.sibling is None
        return Candidate(
            verdict, None, Standing.SIBLING_MISSING if absent else Standing.INVALID_MANIFEST, reason
        )
    version = manifest.corpus_format_version
    if version not in supports:
        reason = f"corpus_format_version {version} is not one the reader supports ({_listed(supports)})"
        return Candidate(verdict, manifest, Standing.UNSUPPORTED_FORMAT_VERSION, reason)
    return Candidate(
        verdict, manifest, Standing.RESTORABLE, f"valid manifest, corpus_format_version {version} supported"
    )


def _listed(versions: frozenset[int]) -> str:
    return ", ".join(str(v) for v in sorted(versions))


@dataclass(frozen=True)
class RestoreChoice:
    """The chosen backup (or None) and every candidate, newest first, each with its standing."""

    where: str
    supports: frozenset[int]
    chosen: Candidate | None
    candidates: tuple[Candidate, ...]
    pinned: bool = False

    @property
    def passed_over(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c is not self.chosen)

    def refusal(self) -> str:
        """Why nothing qualifies: one line for stderr."""
        if not self.candidates:
            return f"no backup tarball under {self.where}"
        if self.pinned:
            only = self.candidates[0]
            return f"pinned backup {self.where} is not restorable: {only.standing.value}: {only.reason}"
        tally: dict[Standing, int] = {}
        for c in self.candidates:
            tally[c.standing] = tally.get(c.standing, 0) + 1
        parts = ", ".join(f"{n} {s.value.replace('_', ' ')}" for s, n in sorted(tally.items()))
        newest = self.candidates[0]
        return (
            f"no backup under {self.where} is restorable by a reader of corpus_format_version "
            f"{_listed(self.supports)} ({len(self.candidates)} candidates: {parts}; "
            f"newest {newest.key}: {newest.reason}); pin one with --pin KEY after checking it"
        )

    def to_dict(self, bucket: str) -> dict[str, Any]:
        return {
            "where": self.where,
            "pinned": self.pinned,
            "reader_supports": sorted(self.supports),
            "chosen": None if self.chosen is None else self.chosen.to_dict(bucket, with_manifest=True),
            "passed_over": [c.to_dict(bucket) for c in self.passed_over],
            "reason": None if self.chosen else self.refusal(),
        }


def choose(
    where: str, supports: frozenset[int], candidates: Iterable[Candidate], pinned: bool = False
) -> RestoreChoice:
    """The newest restorable candidate; older restorable ones are passed over as not the newest."""
    ordered = sorted(candidates, key=lambda c: c.order, reverse=True)
    chosen = next((c for c in ordered if c.standing is Standing.RESTORABLE), None)
    if chosen is not None:
        newer = f"a newer restorable backup was chosen: {chosen.key}"
        ordered = [
            replace(c, standing=Standing.NOT_NEWEST, reason=newer)
            if c.standing is Standing.RESTORABLE and c is not chosen
            else c
            for c in ordered
        ]
    return RestoreChoice(where, supports, chosen, tuple(ordered), pinned)


@dataclass(frozen=True)
class RestoreSearch:
    """Lists a prefix, reads every backup's manifest on the pool, and chooses."""

    lister: Lister
    reads: ManifestReads
    policy: Policy
    clock: Callable[[], datetime]

    def newest(self, bucket: str, prefix: str, supports: frozenset[int]) -> RestoreChoice:
        now = self.clock()
        stage = self.reads.stage(bucket, self.policy, now)
        candidates: list[Candidate] = []

        def keep(done: list[Staged]) -> None:
            candidates.extend(candidate_of(d, supports) for d in done if isinstance(d, Inspected))

        keep(stage.push(reconcile(self.lister.pages(bucket, prefix), self.policy, now)))
        keep(stage.drain())
        return choose(f"s3://{bucket}/{prefix}", supports, candidates)

    def pinned(self, store: ObjectStore, bucket: str, key: str, supports: frozenset[int]) -> RestoreChoice:
        """One explicit backup, judged exactly as a search would judge it."""
        now = self.clock()
        verdict = check_tarball(store, bucket, key, self.policy, now)
        candidate = candidate_of(self.reads.inspector.inspect(bucket, verdict, self.policy, now), supports)
        return choose(f"s3://{bucket}/{key}", supports, [candidate], pinned=True)
