"""The sweep report: counts, per-host groups and findings, rendered as DESIGN.md's JSON or a text table."""

from __future__ import annotations

import io
import json
import tempfile
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import IO, TYPE_CHECKING, Any, TextIO

from ..core.objects import ListedObject, ListedPage
from ..core.rules import folder_of
from ..core.verdicts import Checksum, OkTarballs, Orphan, Outcome, TarballVerdict, Verdict

if TYPE_CHECKING:
    from .fleet import PreviousRun

TOP_GROUP = "."  # tarballs that sit above the group depth, directly under the prefix
# Tarballs this much younger than the sweep are kept (key, size, time, etag) in `Report.recent`, so the
# fleet check can ask the event path about them; older ones were settled by earlier sweeps.
RECENT_S = 4 * 24 * 3600
_OK = Verdict.OK  # module constants: reading `Verdict.OK` or a member's `.value` is a Python-level lookup
_VALUE = {v: v.value for v in Verdict}

CALENDAR_NIGHTS = 30  # nights of the backup calendar, ending on the night the sweep started
# A night's cell is its worst tarball verdict, in this order (orphans are not backups: no cell).
_NIGHT_RANK = {
    Verdict.OK: 0,
    Verdict.PENDING: 1,
    Verdict.INVALID: 2,
    Verdict.STALE: 3,
    Verdict.UNDERSIZED: 4,
    Verdict.MISSING: 5,
}


_OK_VALUE = Verdict.OK.value
_DAY = itemgetter(slice(0, 10))  # a canonical stamp's date
_ORDINALS: dict[str, int] = {}  # a canonical stamp's date -> its ordinal (a few hundred dates a sweep)


def _pick(values: Sequence[str], rows: Sequence[int]) -> tuple[str, ...]:
    """`values[row]` of each row, as a tuple in C (`itemgetter` of a single index gives the value itself)."""
    picked: tuple[str, ...] = itemgetter(*rows)(values) if len(rows) > 1 else tuple(values[r] for r in rows)
    return picked


def _ordinal(day: str) -> int:
    if len(_ORDINALS) > 100_000:
        _ORDINALS.clear()
    ordinal = _ORDINALS[day] = date.fromisoformat(day).toordinal()
    return ordinal


def canonical_stamp(when: datetime) -> str:
    """`when`, down to its millisecond, as a canonical stamp (`ListedPage`): a stamp is later than `when`
    exactly when it is later than this, since stamps have no finer part."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def iso_z(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


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
            "last_modified": iso_z(self.last_modified),
            "sibling_size": self.sibling_size,
            "sibling_last_modified": (
                iso_z(self.sibling_last_modified) if self.sibling_last_modified else None
            ),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        """The inverse of `to_dict`, for findings carried across invocations in a checkpoint."""
        later = d.get("sibling_last_modified")
        return cls(
            d["key"],
            Verdict(d["verdict"]),
            d["sibling"],
            d["rule"],
            d["reason"],
            d["size"],
            _parse_iso(d["last_modified"]),
            d.get("sibling_size"),
            _parse_iso(later) if later else None,
        )


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
        for result in outcome.results
        if result.verdict is not _OK
    ]


class FindingLog:
    """Every finding, in the order the sweep finalised them (close to key order).

    Up to `in_memory` findings stay in a list; past that they go to an anonymous temporary file as
    JSON lines, so a bucket where every listing is missing costs disk, not memory.
    """

    def __init__(self, in_memory: int = 20_000) -> None:
        self._limit = in_memory
        self._items: list[Finding] = []
        self._spill: IO[str] | None = None
        self.count = 0

    def add(self, finding: Finding) -> None:
        self.count += 1
        if self._spill is None and len(self._items) < self._limit:
            self._items.append(finding)
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (lives as long as the log)
        self._spill.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")

    def __len__(self) -> int:
        return self.count

    def take(self) -> list[Finding]:
        """Every finding so far, as objects, and the log emptied (a worker process sends them on)."""
        taken = self._items
        if self._spill is not None:
            self._spill.seek(0)
            taken += [Finding.from_dict(json.loads(line)) for line in self._spill]
            self._spill.close()
        self._items, self._spill, self.count = [], None, 0
        return taken

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for finding in self._items:
            yield finding.to_dict()
        if self._spill is not None:
            self._spill.flush()
            self._spill.seek(0)
            for line in self._spill:
                yield json.loads(line)
            self._spill.seek(0, 2)


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
    # the backup calendar: night (a UTC date's ordinal) -> that night's worst tarball verdict,
    # the newest CALENDAR_NIGHTS nights at least (older ones are dropped, so a host costs a few dozen)
    nights: dict[int, Verdict] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        counts, verdict = self.counts, outcome.verdict
        counts[_VALUE[verdict]] += 1
        if isinstance(outcome, TarballVerdict):
            counts["tarballs"] += 1
            night = outcome.tarball.last_modified.toordinal()
            seen = self.nights.get(night)
            if seen is not verdict and (seen is None or _NIGHT_RANK[verdict] > _NIGHT_RANK[seen]):
                self._night(night, verdict)
            for result in outcome.results:
                if result.checksum is not None:
                    counts[_CHECKSUM + result.checksum.value] += 1
            self.newest_tarball = _newest(self.newest_tarball, outcome.tarball)
            if verdict is _OK:
                self.newest_complete = _newest(self.newest_complete, outcome.tarball)

    def add_ok(self, page: ListedPage, count: int, newest: int) -> None:
        """`count` ok tarballs of `page`, row `newest` the newest of them (nights are the caller's)."""
        counts = self.counts
        counts[_OK_VALUE] += count
        counts["tarballs"] += count
        tarball = page[newest]
        self.newest_tarball = _newest(self.newest_tarball, tarball)
        self.newest_complete = _newest(self.newest_complete, tarball)

    def _night(self, night: int, verdict: Verdict) -> None:
        nights = self.nights
        seen = nights.get(night)
        if seen is None or _NIGHT_RANK[verdict] > _NIGHT_RANK[seen]:
            nights[night] = verdict
            if len(nights) > 2 * CALENDAR_NIGHTS:
                for old in sorted(nights)[:-CALENDAR_NIGHTS]:
                    del nights[old]

    def calendar(self, last_night: date, nights: int = CALENDAR_NIGHTS) -> list[str | None]:
        """The worst verdict of each of the `nights` nights up to `last_night`, oldest first; None: no
        tarball that night."""
        end = last_night.toordinal()
        return [
            (v.value if (v := self.nights.get(n)) is not None else None)
            for n in range(end - nights + 1, end + 1)
        ]

    def merge(self, other: Group) -> None:
        """The same host, counted in two places (two shards of it, in two worker processes)."""
        self.counts.update(other.counts)
        for night, verdict in other.nights.items():
            self._night(night, verdict)
        if other.newest_tarball is not None:
            self.newest_tarball = _newest(self.newest_tarball, other.newest_tarball)
        if other.newest_complete is not None:
            self.newest_complete = _newest(self.newest_complete, other.newest_complete)

    @property
    def problems(self) -> int:
        return _problems(self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": _counts(self.counts),
            "problems": self.problems,
            "checksums": _checksums(self.counts),
            "newest_tarball": _stamp(self.newest_tarball),
            "newest_complete": _stamp(self.newest_complete),
        }


def _row(obj: ListedObject | None) -> list[object] | None:
    return None if obj is None else obj.to_row()


def _object(row: Sequence[Any] | None) -> ListedObject | None:
    return None if row is None else ListedObject.from_row(row)


def _stamp(obj: ListedObject | None) -> dict[str, str] | None:
    return None if obj is None else {"key": obj.key, "last_modified": iso_z(obj.last_modified)}


def _counts(counts: Counter[str]) -> dict[str, int]:
    return {"tarballs": counts["tarballs"], **{v.value: counts[v.value] for v in Verdict}}


_CHECKSUM = "checksum:"


def _checksums(counts: Counter[str]) -> dict[str, int]:
    """Valid manifests whose sha256 S3 confirmed, and those it could not (no sha256, multipart)."""
    return {c.value: counts[_CHECKSUM + c.value] for c in Checksum}


def _problems(counts: Counter[str]) -> int:
    return sum(counts[v.value] for v in Verdict if v.is_problem)


def group_of(key: str, prefix: str, depth: int) -> str:
    """The folder `depth` levels under the prefix that holds `key` (the host), or TOP_GROUP."""
    folders = key[len(prefix) :].split("/")[:-1]
    if depth == 0 or len(folders) < depth:
        return TOP_GROUP
    return "/".join(folders[:depth])


@dataclass(frozen=True)
class Tally:
    """A share of a report, counted where its outcomes were judged and merged into the report elsewhere.

    A worker process sends this rather than its outcomes: a page's outcomes (verdicts holding every
    sibling's listing) cost more to pickle than to count, a page's groups and findings do not.
    """

    objects: int
    groups: dict[str, Group]
    findings: list[Finding]
    recent: list[ListedObject] = field(default_factory=list)
    pages: int = 0  # the listing pages it counts (for progress)


@dataclass
class Report:
    """What one sweep found: the totals are the sum of the per-host groups, never counted twice."""

    bucket: str
    prefix: str
    threshold: int
    group_depth: int = 1
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    objects_listed: int = 0
    duration_s: float = 0.0
    complete: bool = True
    paused: dict[str, Any] | None = None  # an incomplete sweep's open state, to carry on from
    groups: dict[str, Group] = field(default_factory=dict)
    findings: FindingLog = field(default_factory=FindingLog)
    _last_folder: tuple[str, Group] | None = field(default=None, init=False, repr=False, compare=False)
    # --- fleet health (`fleet.assess` fills these in once the sweep is finished) ---
    min_tarballs: int = 1
    max_backup_age_s: int | None = None
    overdue: dict[str, str] = field(default_factory=dict)  # host -> fleet.OVERDUE_SILENT or _BROKEN
    hosts_vanished: list[str] = field(default_factory=list)
    tarballs_not_checked: int | None = None  # None: not measured (the CLI has no event path)
    not_checked: list[str] = field(default_factory=list)  # the first keys of those
    previous: PreviousRun | None = field(default=None, repr=False, compare=False)
    recent: list[ListedObject] = field(default_factory=list, repr=False, compare=False)
    _recent_since: datetime = field(init=False, repr=False, compare=False)
    _recent_stamp: str = field(init=False, repr=False, compare=False)  # the same, as a canonical stamp

    def __post_init__(self) -> None:
        self._recent_since = self.started_at - timedelta(seconds=RECENT_S)
        self._recent_stamp = canonical_stamp(self._recent_since)

    def add(self, outcome: Outcome) -> None:
        """Outcomes come folder by folder, so the group of the last folder is remembered."""
        key = outcome.tarball.key if isinstance(outcome, TarballVerdict) else outcome.sibling.key
        folder = folder_of(key)
        last = self._last_folder
        if last is not None and last[0] == folder:
            group = last[1]
        else:
            name = group_of(key, self.prefix, self.group_depth)
            group = self.groups.setdefault(name, Group(name))
            self._last_folder = (folder, group)
        group.add(outcome)
        if type(outcome) is TarballVerdict and outcome.tarball.last_modified > self._recent_since:
            self.recent.append(outcome.tarball)
        for finding in findings_of(outcome):
            self.findings.add(finding)

    def add_ok(self, runs: Iterable[OkTarballs]) -> None:
        """`add` of each ok tarball of each run, counted from the page's columns: what `add` would do with
        their verdicts (an ok tarball has no finding and no checksum), without building them.

        A run's rows ascend by key, so the rows of one folder are one block (`bisect` finds its end).
        A block with no row in a sub-folder is counted in a few passes over its columns; any other goes
        row by row (`_add_ok_rows`), which is what a block amounts to, one row at a time."""
        for run in runs:
            page, rows = run.page, run.rows
            keys = _pick(page.keys, rows)
            start = 0
            while start < len(rows):
                folder = folder_of(keys[start])
                # keys under the folder sort below its name with "0" (the character after "/") for the "/"
                end = bisect_left(keys, folder[:-1] + "0", start) if folder else len(rows)
                block = rows[start:end]
                if "".join(keys[start:end]).count("/") == len(block) * folder.count("/"):
                    self._add_ok_folder(page, block, keys[start], folder)
                else:
                    self._add_ok_rows(page, block)
                start = end

    def _add_ok_folder(self, page: ListedPage, rows: list[int], key: str, folder: str) -> None:
        """Ok tarballs all directly in `folder`: one group, its count, its newest, its nights, its recent."""
        group = self._group(key, folder)
        stamps = _pick(page.stamps, rows)
        newest = max(stamps)
        # the last row of the newest stamp: rows ascend by key, and a tie goes to the later row (`_newest`)
        best = rows[len(stamps) - 1 - stamps[::-1].index(newest)]
        for day in dict.fromkeys(map(_DAY, stamps)):  # the nights in the order their rows come
            night = _ORDINALS.get(day)
            if night is None:
                night = _ordinal(day)
            if night not in group.nights:
                group._night(night, _OK)
        since = self._recent_stamp
        if newest > since:
            self.recent += [page[row] for row, stamp in zip(rows, stamps, strict=True) if stamp > since]
        group.add_ok(page, len(rows), best)

    def _add_ok_rows(self, page: ListedPage, rows: list[int]) -> None:
        since = self._recent_stamp
        keys, stamps = page.keys, page.stamps
        group: Group | None = None
        folder = newest = ""
        count = best = 0
        days: set[str] = set()  # the group's nights already counted in this run
        for row in rows:
            key = keys[row]
            if group is None or not (key.startswith(folder) and key.find("/", len(folder)) < 0):
                if group is not None:
                    group.add_ok(page, count, best)
                folder = folder_of(key)
                group = self._group(key, folder)
                count, best, newest, days = 0, row, "", set()
            count += 1
            stamp = stamps[row]
            if stamp >= newest:  # rows ascend by key, so a tie goes to the later row, as in `_newest`
                best, newest = row, stamp
            day = stamp[:10]
            if day not in days:
                days.add(day)
                night = _ORDINALS.get(day)
                if night is None:
                    night = _ordinal(day)
                if night not in group.nights:
                    group._night(night, _OK)
            if stamp > since:
                self.recent.append(page[row])
        if group is not None:
            group.add_ok(page, count, best)

    def _group(self, key: str, folder: str) -> Group:
        last = self._last_folder
        if last is not None and last[0] == folder:
            return last[1]
        name = group_of(key, self.prefix, self.group_depth)
        group = self.groups.setdefault(name, Group(name))
        self._last_folder = (folder, group)
        return group

    def take(self, objects: int, pages: int = 0) -> Tally:
        """What was added since the last take, for a report in another process to `merge`."""
        tally = Tally(objects, self.groups, self.findings.take(), self.recent, pages)
        self.groups, self._last_folder, self.recent = {}, None, []
        return tally

    def merge(self, tally: Tally) -> None:
        self.objects_listed += tally.objects
        for name, group in tally.groups.items():
            mine = self.groups.get(name)
            if mine is None:
                self.groups[name] = group
            else:
                mine.merge(group)
        for finding in tally.findings:
            self.findings.add(finding)
        self.recent += tally.recent

    @property
    def counts(self) -> Counter[str]:
        return sum((g.counts for g in self.groups.values()), Counter())

    def state(self) -> dict[str, Any]:
        """Everything but the findings, as JSON-ready data, for a checkpoint."""
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "threshold": self.threshold,
            "group_depth": self.group_depth,
            "started_at": self.started_at.isoformat(),
            "objects_listed": self.objects_listed,
            "groups": {
                name: [
                    dict(g.counts),
                    _row(g.newest_tarball),
                    _row(g.newest_complete),
                    {str(n): v.value for n, v in g.nights.items()},
                ]
                for name, g in self.groups.items()
            },
            "recent": [t.to_row() for t in self.recent],
        }

    @classmethod
    def resumed(cls, state: Mapping[str, Any], findings: Iterable[Mapping[str, Any]]) -> Report:
        report = cls(
            state["bucket"],
            state["prefix"],
            state["threshold"],
            state["group_depth"],
            started_at=datetime.fromisoformat(state["started_at"]),
            objects_listed=state["objects_listed"],
        )
        for name, (counts, newest, complete, *calendar) in state["groups"].items():
            nights = {int(n): Verdict(v) for n, v in (calendar[0] if calendar else {}).items()}
            report.groups[name] = Group(name, Counter(counts), _object(newest), _object(complete), nights)
        report.recent = [ListedObject.from_row(row) for row in state.get("recent", [])]
        for finding in findings:
            report.findings.add(Finding.from_dict(finding))
        return report

    @property
    def problems(self) -> int:
        """Every verdict that is a problem, and every fleet problem: each overdue or vanished host,
        each tarball the event path never saw, and a prefix with too few tarballs."""
        return _problems(self.counts) + self.fleet_problems

    @property
    def fleet_problems(self) -> int:
        return (
            len(self.overdue)
            + len(self.hosts_vanished)
            + (self.tarballs_not_checked or 0)
            + int(self.volume_breach)
        )

    @property
    def volume_breach(self) -> bool:
        """Fewer tarballs than MIN_TARBALLS in a finished sweep: never green, whatever the threshold."""
        return self.complete and self.counts["tarballs"] < self.min_tarballs

    @property
    def hosts_overdue(self) -> list[str]:
        return sorted(self.overdue)

    def to_counts(self) -> dict[str, int]:
        """DESIGN.md's `counts`: tarballs and every verdict, zeros included."""
        return _counts(self.counts)

    @property
    def breach(self) -> bool:
        """Problems above the threshold; an incomplete sweep's count is a floor, so it can breach too."""
        return self.problems > self.threshold or self.volume_breach

    @property
    def coverage(self) -> float:
        """`ok` over the tarballs that are not pending; 0.0 when there is nothing to judge, because
        coverage of nothing is not 100 %."""
        counts = self.counts
        judged = counts["tarballs"] - counts[Verdict.PENDING.value]
        return 0.0 if judged == 0 else counts[Verdict.OK.value] / judged

    def _head(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "complete": self.complete,
            "objects_listed": self.objects_listed,
            "counts": self.to_counts(),
            "problems": self.problems,
            "checksums": _checksums(self.counts),
            "threshold": self.threshold,
            "breach": self.breach,
            "coverage": round(self.coverage, 6),
            "groups": {
                name: {**self.groups[name].to_dict(), "overdue": name in self.overdue}
                for name in sorted(self.groups)
            },
            "started_at": iso_z(self.started_at),
            "duration_s": round(self.duration_s, 3),
            "warnings": self.warnings,
            **self._fleet_head(),
        }

    def _fleet_head(self) -> dict[str, Any]:
        """The fleet's health, beside the verdicts' counts (fields added to the contract, none changed)."""
        return {
            "min_tarballs": self.min_tarballs,
            "max_backup_age_s": self.max_backup_age_s,
            "volume_breach": self.volume_breach,
            "hosts_overdue": self.hosts_overdue,
            "overdue_reasons": {name: self.overdue[name] for name in self.hosts_overdue},
            "hosts_vanished": sorted(self.hosts_vanished),
            "tarballs_not_checked": self.tarballs_not_checked,
            "not_checked": list(self.not_checked),
            "previous_report": self.previous.uri if self.previous is not None else None,
        }

    @property
    def warnings(self) -> list[str]:
        """Things that are not problems but that an operator should not miss, e.g. a mistyped prefix."""
        warnings = []
        if not self.complete:
            warnings.append(
                "INCOMPLETE: the sweep stopped before the end of the listing; the counts cover only "
                "what it reached, and this is not a pass"
            )
        elif self.counts["tarballs"] == 0:
            warnings.append("no tarballs under this prefix; is the prefix right?")
        return warnings

    def calendar_nights(self, nights: int = CALENDAR_NIGHTS) -> list[date]:
        """The calendar's nights (UTC dates), oldest first, ending on the night the sweep started."""
        last = self.started_at.astimezone(UTC).date()
        return [last - timedelta(days=n) for n in range(nights - 1, -1, -1)]

    def calendar(self) -> dict[str, Any]:
        """`calendar`: `nights` (dates, oldest first) and per host its worst verdict each night (null:
        no tarball that night)."""
        nights = self.calendar_nights()
        return {
            "nights": [n.isoformat() for n in nights],
            "hosts": {name: self.groups[name].calendar(nights[-1]) for name in sorted(self.groups)},
        }

    def _calendar_json(self) -> str:
        """The calendar with one host per line: indented like the head, it would take a line a night."""
        calendar = self.calendar()
        hosts = ",\n".join(f"      {json.dumps(n)}: {json.dumps(c)}" for n, c in calendar["hosts"].items())
        return f'{{\n    "nights": {json.dumps(calendar["nights"])},\n    "hosts": {{' + (
            f"\n{hosts}\n    }}\n  }}" if hosts else "}\n  }"
        )

    def to_mapping(self) -> dict[str, Any]:
        """The JSON report as a dict whose findings stream from the log, for the HTML page: a million
        findings are never parsed into memory at once."""
        return {**self._head(), "calendar": self.calendar(), "findings": self.findings}

    def write_json(self, out: TextIO) -> None:
        """One JSON object, findings streamed one per line so they are never all in memory at once."""
        head = json.dumps(self._head(), indent=2)
        out.write(head[:-2] + ',\n  "calendar": ' + self._calendar_json())
        out.write(',\n  "findings": [')
        for n, finding in enumerate(self.findings):
            out.write(("," if n else "") + "\n    " + json.dumps(finding))
        out.write("\n  ]\n}\n" if len(self.findings) else "]\n}\n")

    def to_json(self) -> str:
        buffer = io.StringIO()
        self.write_json(buffer)
        return buffer.getvalue()

    def to_dict(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.to_json())
        return parsed

    def write_text(self, out: TextIO, max_findings: int | None = None) -> None:
        """The text report (domain/sweep/text_report.py): findings by host, capped, then hosts, the fleet's
        health (too few tarballs, overdue, vanished, unchecked), summary last."""
        from .text_report import MAX_FINDINGS, write_text_report

        limit = MAX_FINDINGS if max_findings is None else max_findings
        write_text_report(self.to_mapping(), out, limit, health=_health_lines(self))

    def to_text(self) -> str:
        buffer = io.StringIO()
        self.write_text(buffer)
        return buffer.getvalue()


def _health_lines(report: Report) -> list[str]:
    from .fleet import health_lines  # fleet builds on this module

    return health_lines(report)


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns two spaces apart, for the report's and the demo's text tables."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
