"""FullSweep as a plain service: sweep, keep the report, publish metrics, an event and at most one alert.

The nightly run and a person's manual invoke share this code; they differ only in the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Protocol

from ...errors import ConfigError, SentinelError
from ..core.alerts import sns_subject
from ..core.verdicts import Policy, Verdict
from ..manifests.inspection import ManifestReads
from ..ports import Counter, EventBus, Invoker, Lister, Log, Notifier, ReportPages
from .checkpoint import Checkpoint, Checkpoints
from .fleet import EventPathWatch, FleetRules, RunHistory, assess, changes_lines, health_lines
from .html_report import console_object_url, render_html
from .report import Report
from .report_pages import ReportPage, appended, run_entry
from .sweep import Sweep, as_folder

SWEEP_COMPLETED = "Sweep Completed"
ALERT_BREACH = "sweep-breach"
ALERT_INCOMPLETE = "sweep-incomplete"
WORST_GROUPS = 5
FIRST_FINDINGS = 20

# Per-verdict sweep metrics, named as DESIGN.md names them.
VERDICT_METRICS = {
    Verdict.MISSING: "SiblingsMissing",
    Verdict.UNDERSIZED: "SiblingsUndersized",
    Verdict.STALE: "SiblingsStale",
    Verdict.INVALID: "ManifestsInvalid",
    Verdict.ORPHAN: "OrphanSiblings",
}

_PAYLOAD_FIELDS = {"prefix": str, "threshold": int, "dry_run": bool, "fail_on_breach": bool, "inventory": str}
_SCHEDULE_SOURCES = {"aws.events", "aws.scheduler"}


class SweepIncompleteError(SentinelError):
    """The sweep ran out of time (or was stopped) before the end of the listing: never a pass."""


class AlreadyReportedError(SentinelError):
    """The run's report is already written: this invocation is a duplicate and must publish nothing."""


class SweepAbandonedError(SentinelError):
    """A paused run older than SWEEP_MAX_RUN_SECONDS: its checkpoint is dropped, never half-reported."""


class ThresholdBreachedError(SentinelError):
    """Raised only for a manual run that asked for `fail_on_breach`, so `aws lambda invoke` shows it."""


class ReportStore(Protocol):
    """Keeps a report; returns where (an s3:// URI)."""

    def put(self, key: str, report: Report) -> str: ...


@dataclass(frozen=True)
class SweepRequest:
    prefix: str
    threshold: int
    dry_run: bool = False
    fail_on_breach: bool = False
    scheduled: bool = False
    inventory: str = ""  # s3://BUCKET/PATH/manifest.json: sweep this S3 Inventory instead of listing
    checkpoint: str = ""  # set only on the invocations that carry on a paused sweep

    def to_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of the request; the checkpoint key itself is not part of it."""
        return asdict(replace(self, checkpoint=""))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepRequest:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    @classmethod
    def from_event(cls, event: Any, watched_prefix: str, default_threshold: int) -> SweepRequest:
        """The schedule's event, or DESIGN.md's manual payload; anything else is refused by name.

        A scheduled run ignores `fail_on_breach`: a scheduled Lambda that raises is retried, which
        would sweep three times and page three times for one breach.
        """
        if not isinstance(event, Mapping):
            raise ConfigError(f"the sweep payload must be a JSON object, got {type(event).__name__}")
        scheduled = event.get("source") in _SCHEDULE_SOURCES or event.get("trigger") == "schedule"
        if scheduled:
            return cls(watched_prefix, default_threshold, scheduled=True)
        if "checkpoint" in event:
            if set(event) != {"checkpoint"} or not isinstance(event["checkpoint"], str):
                raise ConfigError('a continuation payload is {"checkpoint": KEY} and nothing else')
            return cls(watched_prefix, default_threshold, checkpoint=event["checkpoint"])
        unknown = sorted(set(event) - set(_PAYLOAD_FIELDS))
        if unknown:
            raise ConfigError(
                f"unknown sweep payload field(s) {', '.join(unknown)}; "
                f"expected any of {', '.join(_PAYLOAD_FIELDS)}"
            )
        for name, kind in _PAYLOAD_FIELDS.items():
            value = event.get(name)
            if value is not None and (type(value) is not kind or (isinstance(value, int) and value < 0)):
                wanted = "an integer, 0 or more" if kind is int else f"a {kind.__name__}"
                raise ConfigError(f"sweep payload field {name!r} must be {wanted}, got {value!r}")
        prefix = as_folder(event.get("prefix") or watched_prefix)
        if not prefix.startswith(watched_prefix):
            raise ConfigError(
                f"prefix {prefix!r} is outside the watched prefix {watched_prefix!r}, "
                "which is all this function may list"
            )
        threshold = event.get("threshold")
        return cls(
            prefix,
            default_threshold if threshold is None else threshold,
            dry_run=bool(event.get("dry_run")),
            fail_on_breach=bool(event.get("fail_on_breach")),
            inventory=event.get("inventory") or "",
        )


def report_key(report_prefix: str, started: datetime, run_id: str) -> str:
    return f"{as_folder(report_prefix)}{started:%Y/%m/%d}/{run_id}.json"


def page_key(report_prefix: str, started: datetime, run_id: str) -> str:
    """The HTML page sits beside its JSON report, with the same name."""
    return report_key(report_prefix, started, run_id).removesuffix(".json") + ".html"


def history_key(report_prefix: str) -> str:
    return f"{as_folder(report_prefix)}history.json"


@dataclass(frozen=True)
class FullSweep:
    lister: Lister
    policy: Policy
    group_depth: int
    bucket: str
    watched_prefix: str
    report_prefix: str
    store: ReportStore
    bus: EventBus
    alerts: Notifier
    metrics: Counter
    log: Log
    clock: Callable[[], datetime]
    manifests: ManifestReads | None = None
    # with `invoker`, a sweep short of time carries on in a new invocation
    checkpoints: Checkpoints | None = None
    invoker: Invoker | None = None
    # opens an S3 Inventory by its manifest's URI: the lister it is, and when S3 took it
    inventories: Callable[[str], tuple[Lister, datetime]] | None = None
    concurrency: int = 1  # key-range shards listed at once, on threads (1: one flat listing)
    max_run_s: float = 6 * 3600
    max_invocations: int = 48
    margin_s: float = 45.0
    # with `pages`, every reported run also writes its HTML page and keeps the run history
    pages: ReportPages | None = None
    region: str = ""  # the reports' region, for S3 console links
    # fleet health (fleet.py): volume and freshness rules, the previous run, the event path's records
    fleet: FleetRules = field(default_factory=FleetRules)
    history: RunHistory | None = None
    watch: EventPathWatch | None = None

    def run(
        self,
        request: SweepRequest,
        invocation_id: str,
        time_left_s: Callable[[], float],
        function: str = "",
    ) -> dict[str, Any]:
        """Sweep, then report; or, short of time, checkpoint and carry on in `function`'s next invocation.

        Raises for an incomplete sweep that cannot carry on, and for a breach only when asked to.
        """
        run_id, invocation, resume, loaded = "", 1, None, request.checkpoint
        if loaded:
            checkpoint = self._load(loaded)
            run_id, invocation = checkpoint.run_id, checkpoint.invocation + 1
            request, resume = SweepRequest.from_dict(checkpoint.request), checkpoint.report
        sweep = self.sweep_for(request)
        report = sweep.run(
            self.bucket,
            request.prefix,
            keep_going=lambda: time_left_s() > self.margin_s,
            resume=resume,
        )
        run_id = run_id or f"{report.started_at:%Y%m%dT%H%M%SZ}-{invocation_id[:8]}"
        if not report.complete and self._can_carry_on(function, invocation):
            return self._carry_on(request, report, run_id, invocation, function, loaded)
        return self.finish(request, report, run_id, time_left_s, invocation, loaded, sweep.as_of)

    def sweep_for(self, request: SweepRequest) -> Sweep:
        """The sweep a request asks for: of the listing, or of the S3 Inventory it names."""
        lister, as_of = self.lister, None
        if request.inventory:
            if self.inventories is None:
                raise ConfigError("this sweep cannot read an S3 Inventory")
            lister, as_of = self.inventories(request.inventory)
        return Sweep(
            lister,
            self.policy,
            request.threshold,
            self.group_depth,
            self.clock,
            manifests=self.manifests,
            as_of=as_of,
            concurrency=self.concurrency,
        )

    def finish(
        self,
        request: SweepRequest,
        report: Report,
        run_id: str,
        time_left_s: Callable[[], float],
        invocation: int = 1,
        loaded: str = "",
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Judge the fleet, keep the report, then publish: what every engine does with its one report of
        a run. The Step Functions engine's merge calls this too (`sweep_map.py`), so both publish alike.
        """
        self._assess_fleet(request, report, as_of)  # FLEET HEALTH: the one step after the sweep
        context = {"run_id": run_id, "prefix": request.prefix, "dry_run": request.dry_run}
        page: ReportPage | None = None
        if request.dry_run:
            self.log.info("dry run: nothing written, counted or sent", extra=context)
            uri = None
        else:
            # the page first: the JSON report is the run's commit point, so a retry renders it again
            page = self._write_page(request, report, run_id)
            try:
                uri = self.store.put(report_key(self.report_prefix, report.started_at, run_id), report)
            except AlreadyReportedError as e:
                self.log.warning("duplicate invocation: this run is already reported", extra={"why": str(e)})
                return {"run_id": run_id, "duplicate": True}
        result = summary(report, run_id, uri, request.dry_run)
        if uri is not None:
            result["report_html"] = page.uri if page is not None else None
            self._publish(request, report, run_id, uri, result, page)
            self._remember(request, report, uri)
        if loaded and self.checkpoints is not None:
            self.checkpoints.delete(loaded)
        result["invocations"] = invocation
        self.log.info("sweep finished", extra={**context, **_log_fields(result)})
        if not report.complete:
            raise SweepIncompleteError(
                f"sweep {run_id} of s3://{self.bucket}/{request.prefix} stopped after "
                f"{report.objects_listed} objects with {time_left_s():.0f}s left; partial report: {uri}"
            )
        if report.breach and request.fail_on_breach and not request.scheduled:
            raise ThresholdBreachedError(
                f"{report.problems} problems > threshold {report.threshold} in s3://{self.bucket}/"
                f"{request.prefix}; report: {uri}"
            )
        return result

    def _write_page(self, request: SweepRequest, report: Report, run_id: str) -> ReportPage | None:
        """The HTML page; a complete sweep of the whole watched prefix also joins the run history, so
        the trend compares like with like."""
        if self.pages is None:
            return None
        head = report.to_mapping()
        runs = self.pages.history(history_key(self.report_prefix))
        if report.complete and request.prefix == self.watched_prefix:
            runs = appended(runs, run_entry(head, run_id))
            self.pages.keep_history(history_key(self.report_prefix), runs)
        else:
            runs = []
        # the console's page for the JSON: a relative link would break in a downloaded copy and in the
        # console's own (presigned) view of the page
        json_key = report_key(self.report_prefix, report.started_at, run_id)
        html = render_html(
            head,
            runs,
            json_href=console_object_url(self.pages.bucket, json_key, self.region),
            json_uri=f"s3://{self.pages.bucket}/{json_key}",
            region=self.region,
        )
        return ReportPage.at(
            self.pages.put_page(page_key(self.report_prefix, report.started_at, run_id), html), self.region
        )

    def _assess_fleet(self, request: SweepRequest, report: Report, as_of: datetime | None) -> None:
        """Volume, freshness, vanished hosts and the event path, judged on the finished report.

        The previous run is read only for the watched prefix, whose runs alone are remembered.
        """
        whole = request.prefix == self.watched_prefix
        previous = self.history.previous() if self.history is not None and whole else None
        assess(report, self.fleet, as_of or report.started_at, previous, self.watch)

    def _remember(self, request: SweepRequest, report: Report, uri: str) -> None:
        """A complete sweep of the watched prefix becomes the next run's previous one."""
        if self.history is not None and report.complete and request.prefix == self.watched_prefix:
            self.history.remember(uri, report)

    @property
    def _checkpoint_folder(self) -> str:
        return f"{as_folder(self.report_prefix)}checkpoints/"

    def checkpoint_key(self, run_id: str, invocation: int) -> str:
        return f"{self._checkpoint_folder}{run_id}/{invocation:04}.jsonl"

    def _can_carry_on(self, function: str, invocation: int) -> bool:
        return (
            bool(function)
            and self.checkpoints is not None
            and self.invoker is not None
            and (invocation < self.max_invocations)
        )

    def _carry_on(
        self, request: SweepRequest, report: Report, run_id: str, invocation: int, function: str, loaded: str
    ) -> dict[str, Any]:
        """Checkpoint first, then start the next invocation, then drop the old checkpoint.

        A crash before the invoke leaves this invocation's own payload to be retried; a crash after it
        leaves a checkpoint that the next invocation reads. Either way nothing is lost or counted twice.
        """
        assert self.checkpoints is not None
        assert self.invoker is not None
        key = self.checkpoint_key(run_id, invocation)
        self.checkpoints.save(key, Checkpoint(run_id, invocation, request.to_dict(), report))
        self.invoker.invoke_async(function, {"checkpoint": key})
        if loaded:
            self.checkpoints.delete(loaded)
        self.metrics.count("SweepContinued")
        self.log.info(
            "sweep paused; carrying on in a new invocation",
            extra={
                "run_id": run_id,
                "invocation": invocation,
                "checkpoint": key,
                "objects": report.objects_listed,
            },
        )
        return {
            "run_id": run_id,
            "complete": False,
            "continued": True,
            "invocation": invocation,
            "checkpoint": key,
            "objects_listed": report.objects_listed,
        }

    def _load(self, key: str) -> Checkpoint:
        """Only this function's own checkpoints, and only while the run is younger than `max_run_s`."""
        if self.checkpoints is None or not key.startswith(self._checkpoint_folder):
            raise ConfigError(f"{key!r} is not one of this function's checkpoints")
        checkpoint = self.checkpoints.load(key)
        age = (self.clock() - checkpoint.report.started_at).total_seconds()
        if age > self.max_run_s:
            self.checkpoints.delete(key)
            self.metrics.count("SweepAbandoned")
            text = (
                f"The sweep {checkpoint.run_id} of s3://{self.bucket}/{checkpoint.report.prefix} started "
                f"{age / 3600:.1f} h ago, more than SWEEP_MAX_RUN_SECONDS ({self.max_run_s:.0f} s), and was "
                f"abandoned after {checkpoint.invocation} invocations and {checkpoint.report.objects_listed} "
                "objects. It is NOT a pass. See docs/RUNBOOK.md, 'Sweep incomplete'."
            )
            self.alerts.publish(
                sns_subject(f"sibling-sentinel: sweep ABANDONED in s3://{self.bucket}"),
                text,
                kind=ALERT_INCOMPLETE,
            )
            raise SweepAbandonedError(text)
        return checkpoint

    def _publish(
        self,
        request: SweepRequest,
        report: Report,
        run_id: str,
        uri: str,
        result: dict[str, Any],
        page: ReportPage | None = None,
    ) -> None:
        """Event, alert, then metrics: if SNS fails, no heartbeat goes out and the invocation's error
        reaches the errors alarm. Metrics only describe the whole watched prefix, so a sub-prefix run
        cannot feed the alarms."""
        if not report.complete:
            self.alerts.publish(*incomplete_alert(report, run_id, uri), kind=ALERT_INCOMPLETE)
            self.metrics.count("SweepIncomplete")
            return
        self.bus.put(SWEEP_COMPLETED, dict(result))
        if report.breach:
            self.alerts.publish(*breach_alert(report, uri, page), kind=ALERT_BREACH)
        if request.prefix == self.watched_prefix:
            self._count(report)

    def _count(self, report: Report) -> None:
        counts = report.counts
        self.metrics.count("TarballsScanned", counts["tarballs"])
        self.metrics.count("ObjectsListed", report.objects_listed)
        for verdict, name in VERDICT_METRICS.items():
            self.metrics.count(name, counts[verdict.value])
        self.metrics.count("Problems", report.problems)
        if report.max_backup_age_s is not None:
            self.metrics.count("HostsOverdue", len(report.overdue))
        if report.tarballs_not_checked is not None:
            self.metrics.count("TarballsNotChecked", report.tarballs_not_checked)
        self.metrics.percent("CoveragePercent", round(report.coverage * 100, 3))
        self.metrics.seconds("SweepDurationSeconds", report.duration_s)
        self.metrics.count("SweepCompleted")


def worst_groups(report: Report, n: int = WORST_GROUPS) -> list[dict[str, Any]]:
    ranked = sorted((g for g in report.groups.values() if g.problems), key=lambda g: (-g.problems, g.name))
    return [{"group": g.name, **g.to_dict()} for g in ranked[:n]]


def summary(report: Report, run_id: str, uri: str | None, dry_run: bool = False) -> dict[str, Any]:
    """The report's head without findings: the Lambda's answer and the `Sweep Completed` detail."""
    return {
        "run_id": run_id,
        "bucket": report.bucket,
        "prefix": report.prefix,
        "complete": report.complete,
        "dry_run": dry_run,
        "objects_listed": report.objects_listed,
        "counts": report.to_counts(),
        "problems": report.problems,
        "threshold": report.threshold,
        "breach": report.breach,
        "coverage": round(report.coverage, 6),
        "duration_s": round(report.duration_s, 3),
        "report": uri,
        "worst_groups": worst_groups(report),
        "min_tarballs": report.min_tarballs,
        "volume_breach": report.volume_breach,
        "hosts_overdue": report.hosts_overdue,
        "hosts_vanished": sorted(report.hosts_vanished),
        "tarballs_not_checked": report.tarballs_not_checked,
    }


def _log_fields(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("complete", "problems", "breach", "objects_listed", "report")}


def _counts_line(report: Report) -> str:
    c = report.to_counts()
    return (
        f"Tarballs {c['tarballs']}: ok {c['ok']}, pending {c['pending']}, missing {c['missing']}, "
        f"undersized {c['undersized']}, stale {c['stale']}, invalid {c['invalid']}; "
        f"orphan siblings {c['orphan']}. Coverage {report.coverage:.2%}."
    )


def _findings_lines(report: Report, n: int = FIRST_FINDINGS) -> list[str]:
    lines = [f"First findings ({min(n, len(report.findings))} of {len(report.findings)}):"]
    for count, f in enumerate(report.findings):
        if count == n:
            break
        lines.append(f"  {f['verdict']:<10} s3://{report.bucket}/{f['key']}")
        lines.append(f"  {'':<10} -> {f['sibling']}: {f['reason']}")
    return lines


def _groups_lines(report: Report) -> list[str]:
    lines = ["Worst groups (hosts):"]
    for g in worst_groups(report):
        complete = g["newest_complete"]["last_modified"] if g["newest_complete"] else "NONE"
        lines.append(f"  {g['group']:<24} problems {g['problems']:<5} newest complete backup {complete}")
    return lines


def _page_lines(page: ReportPage | None) -> list[str]:
    if page is None:
        return []
    return [
        f"HTML report (backup calendar, worst hosts, findings): {page.uri}",
        f"  in the S3 console: {page.console_url}",
        f"  open it: {page.open_command}",
        "",
    ]


def breach_alert(report: Report, uri: str, page: ReportPage | None = None) -> tuple[str, str]:
    subject = sns_subject(f"sibling-sentinel: {report.problems} backup problems in s3://{report.bucket}")
    fleet = health_lines(report)
    lines = [
        f"The sweep of s3://{report.bucket}/{report.prefix} found {report.problems} problems; "
        f"the threshold is {report.threshold}.",
        "",
        _counts_line(report),
        *(["", "Fleet health:", *(f"  {line}" for line in fleet)] if fleet else []),
        "",
        *changes_lines(report),
        "",
        *_groups_lines(report),
        "",
        *_findings_lines(report),
        "",
        *_page_lines(page),
        f"Full report: {uri}",
        f"  aws s3 cp {uri} - | jq '.findings[]'",
        "",
        "What to do next (docs/RUNBOOK.md, 'Problems above threshold'):",
        "  1. For a missing or undersized listing, look at the backup job for that host: did its listing "
        "step run and succeed?",
        "  2. Regenerate the sibling from the tarball (a listing is `tar -tf <tarball>`) and upload it to "
        "the expected key.",
        "  3. An overdue or vanished host: is its backup job still scheduled, and does it still write under "
        "this prefix? A tarball not checked: see docs/RUNBOOK.md, 'Tarballs not checked'.",
        f"  4. Confirm with: {confirm_command(report)}",
    ]
    if report.hosts_vanished or report.tarballs_not_checked:
        lines.append(
            "     Vanished hosts and unchecked uploads are measured by FullSweep alone: confirm those by "
            "invoking it with the payload {} (docs/RUNBOOK.md, section 5)."
        )
    return subject, "\n".join(lines)


def confirm_command(report: Report) -> str:
    """The CLI sweep that judges the prefix by the same volume and freshness rules as this report."""
    flags = f" --threshold {report.threshold} --min-tarballs {report.min_tarballs}"
    if report.max_backup_age_s is not None:
        flags += f" --max-backup-age {report.max_backup_age_s}"
    return f"sibling-sentinel sweep s3://{report.bucket}/{report.prefix}{flags}"


def incomplete_alert(report: Report, run_id: str, uri: str) -> tuple[str, str]:
    subject = sns_subject(f"sibling-sentinel: sweep INCOMPLETE in s3://{report.bucket}")
    lines = [
        f"The sweep {run_id} of s3://{report.bucket}/{report.prefix} ran out of time after listing "
        f"{report.objects_listed} objects in {report.duration_s:.0f}s. It is NOT a pass: the rest of "
        "the prefix was not checked.",
        "",
        f"What it reached: {report.problems} problems. {_counts_line(report)}",
        f"Partial report: {uri}",
        "",
        "What to do next (docs/RUNBOOK.md, 'Sweep incomplete'): sweep the rest by hand, one narrower "
        "prefix at a time, and raise SweepConcurrency (the function already has Lambda's longest timeout).",
    ]
    return subject, "\n".join(lines)
