"""A sweep over a prefix and a check of one tarball, written against ports so any lister fits."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

from ..core.verdicts import Outcome, Policy
from ..manifests.inspection import Inspected, ManifestReads, ManifestStage
from ..ports import FolderLister, Lister
from .reconcile import Reconciler
from .report import Report, Tally
from .shards import Batch, Paused, Plan, Shard, ShardRunner, ShardThreads, list_shard, run_shards


def as_folder(prefix: str) -> str:
    """Prefixes are folders: `backups` means `backups/`, so `backups-old/` stays outside."""
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


Progress = Callable[[int, Report], None]
# A worker process sends its share of the report once this many objects are counted, not once a page:
# pickling, sending and merging a page's groups cost a worker and the parent more than counting it.
TALLY_OBJECTS = 10_000
WorkerProcesses = Callable[[str, str, Plan, datetime], ShardRunner]  # bucket, prefix, plan, now


@dataclass(frozen=True)
class Sweep:
    lister: Lister
    policy: Policy
    threshold: int
    group_depth: int
    clock: Callable[[], datetime]
    manifests: ManifestReads | None = None  # None: no manifest is read (no manifest rule in force)
    concurrency: int = 1
    as_of: datetime | None = None  # judge as of this time (an inventory's), not the sweep's start
    # Starts worker processes for the shards (the CLI's, `cli/processes.py`), given the bucket, the prefix,
    # the plan and the time to judge as of; None lists them on this process's threads.
    shard_processes: WorkerProcesses | None = None

    def run(
        self,
        bucket: str,
        prefix: str,
        progress: Progress | None = None,
        keep_going: Callable[[], bool] | None = None,
        resume: Report | None = None,
    ) -> Report:
        """Reconcile everything under the prefix; an error from the lister ends the sweep unreported.

        `keep_going` is asked between pages; when it says no, the sweep stops there, the report says
        `complete: false`, and `report.paused` holds what `resume` needs to carry on from that very
        key (in this invocation or another). Tarballs whose folder was not finished are neither
        judged nor lost: they wait, open, in that state.

        With `concurrency` above 1, key-range shards are listed and reconciled that many at once
        (`shards.py`): on this process's threads, or on `shard_processes` for a sweep that will not
        pause. `concurrency` 1 (or a lister that cannot list folders, such as an inventory) is one flat
        listing in key order.
        """
        paused = resume.paused if resume is not None else None
        if (
            self.concurrency > 1
            and isinstance(self.lister, FolderLister)
            and (paused is None or "shards" in paused)
        ):
            return self._sharded(self.lister, bucket, prefix, progress, keep_going, resume)
        if resume is not None and paused is not None:
            report = resume
            now = self.as_of or report.started_at
            reconciler = Reconciler.resumed(self.policy, now, paused["reconciler"], tally=True)
            start_after = paused["reconciler"]["last_key"] or ""
            report.complete, report.paused = True, None
        else:
            report = Report(bucket, prefix, self.threshold, self.group_depth, started_at=self.clock())
            now = self.as_of or report.started_at
            reconciler, start_after = Reconciler(self.policy, now, tally=True), ""
        stage = self.manifests.stage(bucket, self.policy, now) if self.manifests else None
        pages = self.lister.pages(bucket, prefix, start_after)
        try:
            for page_number, page in enumerate(pages, start=1):
                for outcome in _inspected(stage, reconciler.feed_page(page)):
                    report.add(outcome)
                report.add_ok(reconciler.take_ok())
                report.objects_listed = reconciler.objects_seen
                if progress is not None:
                    progress(page_number, report)
                if keep_going is not None and not keep_going():
                    report.complete = False
                    break
        finally:
            pages.close()
        # A paused sweep still finishes what the reconciler had already released as final.
        last = reconciler.finish() if report.complete else []
        for outcome in _inspected(stage, last, last=True):
            report.add(outcome)
        if not report.complete:
            report.paused = {"reconciler": reconciler.state()}
        report.objects_listed = reconciler.objects_seen
        report.duration_s = (self.clock() - report.started_at).total_seconds()
        return report

    def _sharded(
        self,
        lister: FolderLister,
        bucket: str,
        prefix: str,
        progress: Progress | None,
        keep_going: Callable[[], bool] | None,
        resume: Report | None,
    ) -> Report:
        plan = Plan(self.group_depth, self.concurrency)
        if resume is not None and resume.paused is not None:
            report, roots = resume, [Shard.from_dict(d) for d in resume.paused["shards"]]
            report.complete, report.paused = True, None
        else:
            report = Report(bucket, prefix, self.threshold, self.group_depth, started_at=self.clock())
            roots = [plan.root(prefix)]
        now = self.as_of or report.started_at
        # worker processes cannot pause; a sweep that may pause runs its shards on threads
        runner = (
            self.shard_processes(bucket, prefix, plan, now)
            if self.shard_processes is not None and keep_going is None
            else ShardThreads(lister, bucket, plan, self.policy, now)
        )
        # worker processes read their shards' manifests themselves; threads hand them to this stage
        reads = self.manifests if isinstance(runner, ShardThreads) else None
        stage = reads.stage(bucket, self.policy, now) if reads else None
        stopping = None if keep_going is None else (lambda: not keep_going())
        left: list[Shard] = []
        pages = 0
        with closing(runner):  # however the sweep ends, no worker thread or process outlives it
            for item in run_shards(roots, runner, stopping, left):
                if isinstance(item, Tally):  # counted, manifests read, in a worker process
                    report.merge(item)
                    pages += item.pages
                else:
                    for outcome in _inspected(stage, item.outcomes):
                        report.add(outcome)
                    report.add_ok(item.ok)
                    report.objects_listed += item.objects
                    pages += 1 if item.objects else 0
                if item.objects and progress is not None:
                    progress(pages, report)
        for outcome in _inspected(stage, [], last=True):
            report.add(outcome)
        if left:
            report.complete = False
            report.paused = {"shards": [shard.to_dict() for shard in left]}
        report.duration_s = (self.clock() - report.started_at).total_seconds()
        return report


@dataclass(frozen=True)
class ShardSweeper:
    """A worker process's part of a sweep: whole key ranges listed, reconciled, their manifests read and
    counted there, so only `Tally`s (and new shards) go back to the process that writes the report."""

    lister: FolderLister
    policy: Policy
    plan: Plan
    bucket: str
    prefix: str
    group_depth: int
    now: datetime
    manifests: ManifestReads | None = None

    def sweep(self, shard: Shard, send: Callable[[Tally | Shard], None]) -> None:
        """Sends a `Tally` every `TALLY_OBJECTS` objects listed, and one after the shard's last outcome; an
        error propagates (and what was not sent yet is lost with the sweep, which fails)."""
        stage = self.manifests.stage(self.bucket, self.policy, self.now) if self.manifests else None
        part = Report(self.bucket, self.prefix, 0, self.group_depth, started_at=self.now)
        objects = pages = 0

        def post(item: Batch | Shard | Paused) -> None:
            nonlocal objects, pages
            if isinstance(item, Paused):
                raise AssertionError("a worker process's shard never pauses")
            if isinstance(item, Shard):
                send(item)
                return
            for outcome in _inspected(stage, item.outcomes):
                part.add(outcome)
            part.add_ok(item.ok)
            objects += item.objects
            pages += 1 if item.objects else 0
            if objects >= TALLY_OBJECTS:
                send(part.take(objects, pages))
                objects = pages = 0

        list_shard(self.lister, self.bucket, shard, self.plan, self.policy, self.now, post)
        for outcome in _inspected(stage, [], last=True):
            part.add(outcome)
        send(part.take(objects, pages))


def _inspected(stage: ManifestStage | None, outcomes: list[Outcome], last: bool = False) -> list[Outcome]:
    """Outcomes with their manifests read, in the order they came; the last call drains the stage."""
    if stage is None:
        return outcomes
    done = stage.push(outcomes) + (stage.drain() if last else [])
    return [d.verdict if isinstance(d, Inspected) else d for d in done]
