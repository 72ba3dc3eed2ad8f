"""Fleet health: what no single tarball shows, judged over a finished sweep's report.

Four silent states become named problems here: too few tarballs under the prefix (an empty or mistyped
prefix), a host whose newest complete backup is too old (overdue), a host the previous run saw and this
one does not (vanished), and a new tarball the event path never checked. The sweep itself does not
change; `assess` runs once on its `Report`, with the previous run and the event path's records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..core.objects import ListedObject
from ..event_path.check import check_id_of
from ..ports import CheckRecords
from .report import Report

DEFAULT_MIN_TARBALLS = 1
# How far back a sweep looks for tarballs the event path should have seen. The idempotency records
# must outlive it (`RECORDS_KEPT_S`), or a tarball checked on time would read as never checked.
LOOKBACK_S = 4 * 24 * 3600
RECORDS_KEPT_S = 5 * 24 * 3600
FIRST_UNCHECKED = 20  # keys named in the report and the alert; the count covers them all

OVERDUE_SILENT = "silent"  # no tarball at all within the age: the backup job stopped producing
OVERDUE_BROKEN = "broken"  # tarballs keep coming, but none with good siblings within the age


@dataclass(frozen=True)
class FleetRules:
    """MIN_TARBALLS and MAX_BACKUP_AGE_SECONDS; an age of None checks no host's freshness."""

    min_tarballs: int = DEFAULT_MIN_TARBALLS
    max_backup_age_s: int | None = None


@dataclass(frozen=True)
class PreviousRun:
    """What the last complete sweep of the same prefix reported, as far as tonight's needs it."""

    uri: str
    prefix: str
    started_at: datetime
    hosts: frozenset[str]  # its groups, and the hosts it already called vanished (still open)
    findings: frozenset[tuple[str, str]]  # (key, sibling) of each finding
    hosts_overdue: frozenset[str]
    hosts_vanished: frozenset[str]
    measured_event_path: bool = True  # False: it was a first sweep, which set the event path's baseline

    @classmethod
    def from_report(cls, uri: str, report: Mapping[str, Any]) -> PreviousRun:
        """Reads a report's JSON (any version: fields this code added may be absent)."""
        started = datetime.fromisoformat(str(report["started_at"]).replace("Z", "+00:00"))
        return cls(
            uri,
            str(report["prefix"]),
            started,
            frozenset(report.get("groups", {})) | frozenset(report.get("hosts_vanished", [])),
            frozenset((str(f["key"]), str(f["sibling"])) for f in report.get("findings", [])),
            frozenset(report.get("hosts_overdue", [])),
            frozenset(report.get("hosts_vanished", [])),
            report.get("tarballs_not_checked") is not None,
        )


class RunHistory(Protocol):
    """The previous complete sweep of the watched prefix, and where tonight's is remembered."""

    def previous(self) -> PreviousRun | None: ...

    def remember(self, uri: str, report: Report) -> None: ...


@dataclass(frozen=True)
class EventPathWatch:
    """A tarball older than the check delay plus its deadline must have a record by now."""

    records: CheckRecords
    settle_s: int  # CHECK_DELAY_SECONDS + CHECK_DEADLINE_SECONDS

    def due(self, recent: Iterable[ListedObject], now: datetime, previous: PreviousRun) -> list[ListedObject]:
        """The tarballs settled since the previous sweep looked, no further back than the records last.

        After a sweep that measured the event path, the window starts where its own ended (its start less
        the settling time); after a first sweep, at that sweep: nothing older was the event path's to see.
        """
        settled = now - timedelta(seconds=self.settle_s)
        start = previous.started_at
        if previous.measured_event_path:
            start -= timedelta(seconds=self.settle_s)
        start = max(start, now - timedelta(seconds=LOOKBACK_S))
        return sorted((t for t in recent if start < t.last_modified <= settled), key=lambda t: t.key)

    def unchecked(self, bucket: str, due: Sequence[ListedObject]) -> list[str]:
        ids = {check_id_of(bucket, t.key, t.etag): t.key for t in due}
        seen = self.records.seen(sorted(ids))
        return sorted(key for check_id, key in ids.items() if check_id not in seen)


def overdue_hosts(report: Report, max_age_s: int, now: datetime) -> dict[str, str]:
    """Each host whose newest complete backup is older than `max_age_s` (or absent), and why."""
    limit = now - timedelta(seconds=max_age_s)
    overdue = {}
    for name, group in report.groups.items():
        if group.newest_tarball is None or group.counts["tarballs"] == group.counts["pending"]:
            continue  # only orphans, or a new host whose every tarball is still in its grace period
        complete = group.newest_complete
        if complete is not None and complete.last_modified >= limit:
            continue
        overdue[name] = OVERDUE_SILENT if group.newest_tarball.last_modified < limit else OVERDUE_BROKEN
    return overdue


def assess(
    report: Report,
    rules: FleetRules,
    now: datetime,
    previous: PreviousRun | None = None,
    watch: EventPathWatch | None = None,
) -> None:
    """Writes the fleet's health into the report; a sweep that did not finish is judged on nothing.

    `now` is the time the sweep judged as of (an inventory's creation time, or the sweep's start).
    """
    report.min_tarballs = rules.min_tarballs
    report.max_backup_age_s = rules.max_backup_age_s
    if not report.complete:
        return
    if rules.max_backup_age_s is not None:
        report.overdue = overdue_hosts(report, rules.max_backup_age_s, now)
    if previous is not None and previous.prefix == report.prefix:
        report.previous = previous
        report.hosts_vanished = sorted(previous.hosts - set(report.groups))
    # A first sweep (no previous run) sets the baseline: the stack may be minutes old, so uploads before
    # it were never the event path's to see, and `tarballs_not_checked` stays None (not measured).
    if watch is not None and report.previous is not None:
        unchecked = watch.unchecked(report.bucket, watch.due(report.recent, now, report.previous))
        report.tarballs_not_checked = len(unchecked)
        report.not_checked = unchecked[:FIRST_UNCHECKED]


def changes_lines(report: Report) -> list[str]:
    """What is new tonight and what was already open at the previous sweep, for the alert."""
    previous = report.previous
    if previous is None:
        return ["Since the last sweep: no previous report to compare with, so every finding is new."]
    new_findings = open_findings = 0
    for f in report.findings:
        if (f["key"], f["sibling"]) in previous.findings:
            open_findings += 1
        else:
            new_findings += 1
    lines = [f"Since the last sweep ({previous.uri}):"]
    lines.append(f"  findings: {new_findings} new, {open_findings} still open")
    for label, now_names, before in (
        ("hosts overdue", report.hosts_overdue, previous.hosts_overdue),
        ("hosts vanished", report.hosts_vanished, previous.hosts_vanished),
    ):
        if now_names:
            fresh = [n for n in now_names if n not in before]
            still = [n for n in now_names if n in before]
            lines.append(f"  {label}: new {_names(fresh)}; still open {_names(still)}")
    return lines


def health_lines(report: Report) -> list[str]:
    """The fleet's problems, one line each, for the alert and the text report."""
    lines = []
    if report.volume_breach:
        lines.append(volume_reason(report))
    if report.max_backup_age_s is None:
        lines.append("freshness: not checked (no MAX_BACKUP_AGE_SECONDS / --max-backup-age)")
    for name in report.hosts_overdue:
        lines.append(overdue_reason(report, name))
    for name in report.hosts_vanished:
        lines.append(f"VANISHED: host {name}: in the previous report, absent from this sweep")
    if report.tarballs_not_checked:
        lines.append(
            f"NOT CHECKED: {report.tarballs_not_checked} new tarballs were never checked by the event path "
            "(EventBridge notifications off, stack in another region, rule pattern, throttling):"
        )
        lines += [f"  s3://{report.bucket}/{key}" for key in report.not_checked]
    return lines


def volume_reason(report: Report) -> str:
    return (
        f"TOO FEW TARBALLS: {report.counts['tarballs']} under s3://{report.bucket}/{report.prefix}, "
        f"fewer than the minimum {report.min_tarballs} (MIN_TARBALLS / --min-tarballs); "
        "is the prefix right, and is the backup job writing?"
    )


def overdue_reason(report: Report, name: str) -> str:
    group = report.groups[name]
    complete = group.newest_complete.last_modified.isoformat() if group.newest_complete else "never"
    newest = group.newest_tarball.last_modified.isoformat() if group.newest_tarball else "never"
    if report.overdue[name] == OVERDUE_SILENT:
        why = f"no backup since {newest}: the backup job stopped producing tarballs"
    else:
        why = f"tarballs keep coming (newest {newest}) but none has good siblings since {complete}"
    return f"OVERDUE: host {name}: newest complete backup {complete}; {why}"


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"
