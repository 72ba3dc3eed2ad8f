"""The sweep on Step Functions: a plan of key ranges, a Distributed Map child per batch, one merge.

`plan` cuts the prefix into range shards (the delimiter probes of `shards.py`, run to the end here
rather than interleaved with listing) and writes them, a batch of ranges per item, as the Map's one
JSON items file. `sweep_item` is a child: it sweeps its batch as a paused sharded sweep resumed
(`Sweep` with `report.paused["shards"]`), every child judging as of the run's one start time, and
keeps its share of the report (counts, groups, findings) under the run's folder, keyed by its item.
`merge` reads exactly the results the plan expects, refuses a missing, extra or foreign one, and
publishes through `FullSweep.finish`: the same report key, event, alert and metrics as the function.
Ranges settle their edges with targeted lookups (`reconcile.py`), so ranges that meet end to end give
the flat sweep's report whatever the cuts, and however the children are scheduled.

`failed` is the state machine's catch: a child out of retries or a merge error becomes the
`sweep-incomplete` alert and no heartbeat, as an unfinished function sweep does.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from ...errors import ConfigError, SentinelError
from ..core.alerts import sns_subject
from ..ports import FolderLister
from .checkpoint import Checkpoint
from .full_sweep import ALERT_INCOMPLETE, FullSweep, SweepRequest
from .report import Report, Tally
from .shards import Plan, Shard, probe
from .sweep import as_folder

ITEMS_FILE = "items.json"
RESULTS = "results/"
_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


class MapResultsError(SentinelError):
    """The children's results are not exactly the plan's items: the run cannot be reported."""


@dataclass(frozen=True)
class MapRun:
    """What every step of one execution shares: its id, the request, when it started, how many items."""

    run_id: str
    request: SweepRequest
    started_at: datetime
    items: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "request": self.request.to_dict(),
            "started_at": self.started_at.isoformat(),
            "items": self.items,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MapRun:
        try:
            return cls(
                d["run_id"],
                SweepRequest.from_dict(d["request"]),
                datetime.fromisoformat(d["started_at"]),
                d["items"],
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"not a sweep-map run: {type(e).__name__}: {e}") from e


class MapFiles(Protocol):
    """The run's working files under the report prefix: the items file and the children's results."""

    def put_items(self, key: str, items: list[dict[str, Any]]) -> None: ...

    def save(self, key: str, checkpoint: Checkpoint) -> None: ...

    def load(self, key: str) -> Checkpoint: ...

    def keys(self, prefix: str) -> list[str]: ...


def plan_ranges(lister: FolderLister, bucket: str, prefix: str, plan: Plan) -> list[Shard]:
    """Every folder the plan would split, probed; the ranges left, in key order, checked to meet end to end.

    A plan that does not cover the prefix exactly would be a partial report that says "all good".
    """
    todo, ranges = deque([plan.root(prefix)]), list[Shard]()
    while todo:
        shard = todo.popleft()
        if shard.folder is None:
            ranges.append(shard)
        else:
            probe(lister, bucket, shard, plan, todo.append)
    ranges.sort(key=lambda s: s.keys.after)
    check_cover(ranges)
    return ranges


def check_cover(ranges: Sequence[Shard]) -> None:
    """Each range starts where the one before ends, the first at the prefix's start, the last at its end."""
    end: str | None = ""
    for shard in ranges:
        if end is None or shard.keys.after != end:
            raise MapResultsError(f"planned ranges do not meet end to end at {shard.keys.to_list()}")
        end = shard.keys.upto
    if end is not None:
        raise MapResultsError(f"planned ranges stop at {end!r}, short of the end of the prefix")


def batches(ranges: Sequence[Shard], size: int) -> list[list[Shard]]:
    return [list(ranges[n : n + size]) for n in range(0, len(ranges), size)]


@dataclass(frozen=True)
class SweepMap:
    full: FullSweep
    files: MapFiles
    files_bucket: str  # where `files` keeps them: the ItemReader's bucket
    batch: int = 8  # ranges per item (Step Functions' ItemBatcher, done in the plan)

    def folder(self, run_id: str) -> str:
        return f"{as_folder(self.full.report_prefix)}map/{run_id}/"

    def result_key(self, run_id: str, index: int) -> str:
        return f"{self.folder(run_id)}{RESULTS}{index:06}.jsonl"

    def plan(self, request: SweepRequest, execution: str) -> dict[str, Any]:
        """The items file for the Map and the run's state for every later step.

        The run id is the execution's name after the start time, so a retried or redriven merge of the
        same execution writes the same report key and publishes nothing twice.
        """
        if not _EXECUTION_NAME.match(execution):
            raise ConfigError(f"execution name {execution!r} must be 1-80 letters, digits, '_', '.', '-'")
        started = self.full.clock()
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{execution}"
        sweep = self.full.sweep_for(request)  # opens an inventory now, so a wrong one fails here
        lister = sweep.lister
        if isinstance(lister, FolderLister) and not request.inventory:
            plan = Plan(self.full.group_depth, max(2, self.full.concurrency))
            ranges = plan_ranges(lister, self.full.bucket, request.prefix, plan)
        else:  # an inventory is one sorted stream: one child sweeps it whole
            ranges = [Shard(request.prefix)]
        groups = batches(ranges, self.batch)
        run = MapRun(run_id, request, started, len(groups))
        items = [
            {"run": run.to_dict(), "index": n, "shards": [s.to_dict() for s in group]}
            for n, group in enumerate(groups)
        ]
        key = self.folder(run_id) + ITEMS_FILE
        self.files.put_items(key, items)
        self.full.log.info(
            "sweep planned", extra={"run_id": run_id, "ranges": len(ranges), "items": len(items), "key": key}
        )
        return {"run": run.to_dict(), "items": {"Bucket": self.files_bucket, "Key": key}}

    def sweep_item(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """One child: its ranges swept as one sharded sweep, its share of the report kept by its index."""
        run, index = MapRun.from_dict(item["run"]), item["index"]
        sweep = self.full.sweep_for(run.request)
        if run.request.inventory:
            part = sweep.run(self.full.bucket, run.request.prefix)
        else:
            resume = Report(
                self.full.bucket,
                run.request.prefix,
                run.request.threshold,
                self.full.group_depth,
                started_at=run.started_at,
                complete=False,
                paused={"shards": list(item["shards"])},
            )
            # a sharded sweep resumed from these ranges; 2 is the least concurrency that shards
            sweep = replace(sweep, concurrency=max(2, sweep.concurrency))
            part = sweep.run(self.full.bucket, run.request.prefix, resume=resume)
        if not part.complete:
            raise MapResultsError(f"item {index} of {run.run_id} stopped before the end of its ranges")
        ordered = sorted(part.findings.take(), key=lambda f: (f.key, f.rule))
        for finding in ordered:  # in key order, whatever order the threads finished in
            part.findings.add(finding)
        self.files.save(self.result_key(run.run_id, index), Checkpoint(run.run_id, index, {}, part))
        return {"index": index, "objects_listed": part.objects_listed, "findings": len(part.findings)}

    def merge(self, state: Mapping[str, Any], time_left_s: Callable[[], float]) -> dict[str, Any]:
        """Exactly the plan's results, merged in item order (key order), then published as FullSweep does."""
        run = MapRun.from_dict(state["run"])
        expected = [self.result_key(run.run_id, n) for n in range(run.items)]
        found = set(self.files.keys(self.folder(run.run_id) + RESULTS))
        missing, extra = sorted(set(expected) - found), sorted(found - set(expected))
        if missing or extra:
            raise MapResultsError(
                f"run {run.run_id} has {len(found)} results for {run.items} items "
                f"(missing {missing[:3]}, extra {extra[:3]}); it cannot be reported"
            )
        request = run.request
        report = Report(
            self.full.bucket,
            request.prefix,
            request.threshold,
            self.full.group_depth,
            started_at=run.started_at,
        )
        for index, key in enumerate(expected):
            part = self.files.load(key)
            if part.run_id != run.run_id or part.invocation != index:
                raise MapResultsError(f"{key} holds item {part.invocation} of {part.run_id}")
            part_report = part.report
            report.merge(
                Tally(
                    part_report.objects_listed,
                    part_report.groups,
                    part_report.findings.take(),
                    part_report.recent,  # the event path's dead-man needs the new tarballs of every part
                )
            )
        report.duration_s = (self.full.clock() - run.started_at).total_seconds()
        return self.full.finish(request, report, run.run_id, time_left_s)

    def failed(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The catch: the sweep-incomplete alert and no heartbeat, unless it was a dry run."""
        error = state.get("error") or {}
        what = f"{error.get('Error', 'unknown error')}: {str(error.get('Cause', ''))[:500]}"
        run = MapRun.from_dict(state["run"]) if "run" in state else None
        run_id = run.run_id if run else str(state.get("execution", "?"))
        prefix = run.request.prefix if run else self.full.watched_prefix
        extra = {"run_id": run_id, "prefix": prefix, "error": what}
        dry_run = run.request.dry_run if run else state.get("dry_run") is True
        if dry_run:
            self.full.log.error("dry run failed: nothing sent", extra=extra)
            return {"run_id": run_id, "complete": False, "alerted": False}
        self.full.log.error("sweep failed: alerting sweep-incomplete", extra=extra)
        self.full.alerts.publish(*failed_alert(self.full.bucket, prefix, run_id, what), kind=ALERT_INCOMPLETE)
        self.full.metrics.count("SweepIncomplete")
        return {"run_id": run_id, "complete": False, "alerted": True}


def failed_alert(bucket: str, prefix: str, run_id: str, what: str) -> tuple[str, str]:
    subject = sns_subject(f"sibling-sentinel: sweep INCOMPLETE in s3://{bucket}")
    lines = [
        f"The distributed sweep {run_id} of s3://{bucket}/{prefix} failed: {what}",
        "It is NOT a pass: no report was written and nothing was counted.",
        "",
        "What to do next (docs/RUNBOOK.md, 'Sweep incomplete'): open the execution in the Step Functions "
        "console, fix the cause, then redrive it or start a new execution.",
    ]
    return subject, "\n".join(lines)
