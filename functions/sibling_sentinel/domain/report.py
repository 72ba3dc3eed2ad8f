"""The sweep report: counts, per-host groups and findings, rendered as DESIGN.md's JSON or a text table."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .objects import ListedObject
from .verdicts import Orphan, Outcome, TarballVerdict, Verdict

TOP_GROUP = "."  # tarballs that sit above the group depth, directly under the prefix


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Finding:
    """One tarball's failed rule, or one orphan; keyed by the object the operator has to act on."""

    key: str
    verdict: Verdict
    sibling: str
    rule: str
    reason: str
    size: int
    last_modified: datetime
    sibling_size: int | None = None
    sibling_last_modified: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "verdict": self.verdict.value,
            "sibling": self.sibling,
            "rule": self.rule,
            "reason": self.reason,
            "size": self.size,
            "last_modified": _iso(self.last_modified),
            "sibling_size": self.sibling_size,
            "sibling_last_modified": (
                _iso(self.sibling_last_modified) if self.sibling_last_modified else None
            ),
        }


def findings_of(outcome: Outcome) -> list[Finding]:
    if isinstance(outcome, Orphan):
        obj = outcome.sibling
        return [
            Finding(
                obj.key,
                Verdict.ORPHAN,
                outcome.expected,
                outcome.rule.name,
                f"{outcome.rule.name} sibling with no tarball {outcome.expected}",
                obj.size,
                obj.last_modified,
            )
        ]
    tarball = outcome.tarball
    return [
        Finding(
            tarball.key,
            result.verdict,
            result.sibling_key,
            result.rule.name,
            result.reason,
            tarball.size,
            tarball.last_modified,
            result.sibling.size if result.sibling else None,
            result.sibling.last_modified if result.sibling else None,
        )
        for result in outcome.not_ok
    ]


def _newest(current: ListedObject | None, candidate: ListedObject) -> ListedObject:
    if current is None or (candidate.last_modified, candidate.key) > (current.last_modified, current.key):
        return candidate
    return current


@dataclass
class Group:
    """One host: its counts, its newest tarball and its newest complete (all siblings ok) backup.

    A host whose newest tarball is recent but whose newest complete backup is old has stopped
    producing usable backups, which is the thing an operator most needs to see.
    """

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    newest_tarball: ListedObject | None = None
    newest_complete: ListedObject | None = None

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.verdict.value] += 1
        if isinstance(outcome, TarballVerdict):
            self.counts["tarballs"] += 1
            self.newest_tarball = _newest(self.newest_tarball, outcome.tarball)
            if outcome.verdict is Verdict.OK:
                self.newest_complete = _newest(self.newest_complete, outcome.tarball)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": _counts(self.counts),
            "problems": _problems(self.counts),
            "newest_tarball": _stamp(self.newest_tarball),
            "newest_complete": _stamp(self.newest_complete),
        }


def _stamp(obj: ListedObject | None) -> dict[str, str] | None:
    return None if obj is None else {"key": obj.key, "last_modified": _iso(obj.last_modified)}


def _counts(counts: Counter[str]) -> dict[str, int]:
    return {"tarballs": counts["tarballs"], **{v.value: counts[v.value] for v in Verdict}}


def _problems(counts: Counter[str]) -> int:
    return sum(counts[v.value] for v in Verdict if v.is_problem)


def group_of(key: str, prefix: str, depth: int) -> str:
    """The folder `depth` levels under the prefix that holds `key` (the host), or TOP_GROUP."""
    folders = key[len(prefix) :].split("/")[:-1]
    if depth == 0 or len(folders) < depth:
        return TOP_GROUP
    return "/".join(folders[:depth])


@dataclass
class Report:
    """What one sweep found. `complete` is False only while it is still being built."""

    bucket: str
    prefix: str
    threshold: int
    group_depth: int = 1
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    objects_listed: int = 0
    duration_s: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Group] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.verdict.value] += 1
        if isinstance(outcome, TarballVerdict):
            self.counts["tarballs"] += 1
            key = outcome.tarball.key
        else:
            key = outcome.sibling.key
        name = group_of(key, self.prefix, self.group_depth)
        self.groups.setdefault(name, Group(name)).add(outcome)
        self.findings.extend(findings_of(outcome))

    @property
    def problems(self) -> int:
        return _problems(self.counts)

    @property
    def breach(self) -> bool:
        return self.problems > self.threshold

    @property
    def coverage(self) -> float:
        """`ok` over the tarballs that are not pending; 1.0 when there is nothing to judge."""
        judged = self.counts["tarballs"] - self.counts[Verdict.PENDING.value]
        return 1.0 if judged == 0 else self.counts[Verdict.OK.value] / judged

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "objects_listed": self.objects_listed,
            "counts": _counts(self.counts),
            "problems": self.problems,
            "threshold": self.threshold,
            "breach": self.breach,
            "coverage": round(self.coverage, 6),
            "groups": {name: self.groups[name].to_dict() for name in sorted(self.groups)},
            "findings": [f.to_dict() for f in sorted(self.findings, key=lambda f: (f.key, f.rule))],
            "started_at": _iso(self.started_at),
            "duration_s": round(self.duration_s, 3),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        counts = _counts(self.counts)
        state = "BREACH" if self.breach else "within threshold"
        lines = [
            f"sweep of s3://{self.bucket}/{self.prefix}: {self.objects_listed} objects listed "
            f"in {self.duration_s:.1f}s",
            "  ".join(f"{name} {n}" for name, n in counts.items()),
            f"problems {self.problems} (threshold {self.threshold}): {state}; coverage {self.coverage:.2%}",
        ]
        if counts["tarballs"] == 0:
            lines.append("warning: no tarballs under this prefix; is the prefix right?")
        if self.findings:
            lines += ["", "FINDINGS"]
            for f in sorted(self.findings, key=lambda f: (f.key, f.rule)):
                lines += [f"{f.verdict.value:<10}  {f.key}", f"{'':<10}  -> {f.sibling}: {f.reason}"]
        if self.groups:
            lines += [
                "",
                "GROUPS",
                *_table(
                    ("group", "tarballs", "ok", "pending", "problems", "newest tarball", "newest complete"),
                    [
                        (
                            name,
                            str(g.counts["tarballs"]),
                            str(g.counts["ok"]),
                            str(g.counts["pending"]),
                            str(_problems(g.counts)),
                            _iso(g.newest_tarball.last_modified) if g.newest_tarball else "-",
                            _iso(g.newest_complete.last_modified) if g.newest_complete else "NONE",
                        )
                        for name, g in sorted(self.groups.items())
                    ],
                ),
            ]
        return "\n".join(lines) + "\n"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
