"""The Step Functions engine's steps over fakes: plan, children, merge, and the catch."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from sibling_sentinel.domain.core.listing import KeyRange
from sibling_sentinel.domain.sweep.checkpoint import Checkpoint
from sibling_sentinel.domain.sweep.full_sweep import SweepRequest
from sibling_sentinel.domain.sweep.shards import Shard
from sibling_sentinel.domain.sweep.sweep_map import MapResultsError, MapRun, SweepMap, check_cover
from sibling_sentinel.errors import ConfigError

from fakes import FakeBucket, FullSweepRig, obj

TIMINGS = ("started_at", "duration_s")


class FakeMapFiles:
    """The run's files as S3 would hold them: the items as data, the results as their JSON lines."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.results: dict[str, str] = {}

    def put_items(self, key: str, items: list[dict[str, Any]]) -> None:
        self.items[key] = items

    def save(self, key: str, checkpoint: Checkpoint) -> None:
        buffer = io.StringIO()
        checkpoint.write(buffer)
        self.results[key] = buffer.getvalue()

    def load(self, key: str) -> Checkpoint:
        return Checkpoint.read(iter(self.results[key].splitlines()))

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.results if k.startswith(prefix))


def bucket_of_hosts(hosts: int = 9) -> list[Any]:
    objects = []
    for h in range(hosts):
        objects += [obj(f"backups/h{h}/a.tar"), obj(f"backups/h{h}/a.tar.list.txt", size=300)]
        objects += [obj(f"backups/h{h}/sub/b.tgz")]  # its listing never came
        if h % 3 == 0:
            objects += [obj(f"backups/h{h}/gone.tar.list.txt", size=300)]  # an orphan
    return objects


def rig_and_map(batch: int = 2, concurrency: int = 4) -> tuple[FullSweepRig, SweepMap, FakeMapFiles]:
    rig = FullSweepRig(bucket_of_hosts(), page_size=2, concurrency=concurrency)
    files = FakeMapFiles()
    return rig, SweepMap(rig.service, files, "reports", batch=batch), files


def run_all(
    engine: SweepMap, files: FakeMapFiles, request: SweepRequest, name: str = "exec-1"
) -> dict[str, Any]:
    """What the state machine does: plan, every item as the Map reads it, then the merge."""
    planned = engine.plan(request, name)
    for item in files.items[planned["items"]["Key"]]:
        engine.sweep_item(item)
    return engine.merge({"run": planned["run"]}, lambda: 600.0)


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in TIMINGS}


def nightly() -> SweepRequest:
    return SweepRequest("backups/", 0, scheduled=True)


def test_the_plan_writes_batches_of_ranges_that_cover_the_prefix_end_to_end() -> None:
    # given nine hosts and batches of two ranges
    _, engine, files = rig_and_map(batch=2)
    # when the run is planned
    planned = engine.plan(nightly(), "exec-1")
    # then the items file holds every range once, two to an item, and each item carries the run
    items = files.items[planned["items"]["Key"]]
    assert planned["items"] == {
        "Bucket": "reports",
        "Key": "sibling-sentinel/reports/map/" + planned["run"]["run_id"] + "/items.json",
    }
    ranges = [Shard.from_dict(d) for item in items for d in item["shards"]]
    check_cover(ranges)
    assert len(ranges) >= 9
    assert all(len(item["shards"]) <= 2 for item in items)
    assert [item["index"] for item in items] == list(range(len(items)))
    assert {item["run"]["run_id"] for item in items} == {planned["run"]["run_id"]}
    assert planned["run"]["run_id"].endswith("-exec-1")


def test_the_children_and_the_merge_give_the_single_functions_report() -> None:
    # given the same bucket swept by the function
    rig, engine, files = rig_and_map()
    flat = rig.service.run(nightly(), "fn-12345678", lambda: 600.0)
    flat_report = rig.store.saved.popitem()[1]
    rig.bus.events.clear()
    # when the state machine's steps run
    result = run_all(engine, files, nightly())
    # then the report is the function's, timings apart, and in key order
    (merged,) = rig.store.saved.values()
    assert essence_of(merged) == essence_of(flat_report)
    keys = [(f["key"], f["rule"]) for f in merged["findings"]]  # type: ignore[attr-defined]
    assert keys == sorted(keys)
    assert (result["problems"], result["complete"]) == (flat["problems"], True)
    assert [kind for kind, _ in rig.bus.events] == ["Sweep Completed"]


def test_a_merge_with_a_result_missing_is_refused_and_publishes_nothing() -> None:
    # given a run whose last child never wrote its result
    rig, engine, files = rig_and_map()
    planned = engine.plan(nightly(), "exec-1")
    items = files.items[planned["items"]["Key"]]
    for item in items[:-1]:
        engine.sweep_item(item)
    # when it is merged
    # then the merge refuses, and no report, event or metric went out
    with pytest.raises(MapResultsError, match="missing"):
        engine.merge({"run": planned["run"]}, lambda: 600.0)
    assert (rig.store.saved, rig.bus.events, rig.metrics.names()) == ({}, [], [])


def test_a_merge_with_an_extra_or_foreign_result_is_refused() -> None:
    # given a run whose results folder holds one result too many
    _, engine, files = rig_and_map()
    planned = engine.plan(nightly(), "exec-1")
    items = files.items[planned["items"]["Key"]]
    for item in items:
        engine.sweep_item(item)
    run = MapRun.from_dict(planned["run"])
    extra = engine.result_key(run.run_id, run.items)
    files.results[extra] = files.results[engine.result_key(run.run_id, 0)]
    # when it is merged, then it is refused by name
    with pytest.raises(MapResultsError, match="extra"):
        engine.merge({"run": planned["run"]}, lambda: 600.0)
    # and a result that holds another item is refused too
    del files.results[extra]
    files.results[engine.result_key(run.run_id, 1)] = files.results[engine.result_key(run.run_id, 0)]
    with pytest.raises(MapResultsError, match="holds item 0"):
        engine.merge({"run": planned["run"]}, lambda: 600.0)


def test_a_second_merge_of_one_run_publishes_nothing() -> None:
    # given a run merged once
    rig, engine, files = rig_and_map()
    planned = engine.plan(nightly(), "exec-1")
    for item in files.items[planned["items"]["Key"]]:
        engine.sweep_item(item)
    engine.merge({"run": planned["run"]}, lambda: 600.0)
    published = (len(rig.bus.events), len(rig.alerts.alerts), rig.metrics.as_dict())
    # when the merge runs again (a retry whose first answer was lost)
    again = engine.merge({"run": planned["run"]}, lambda: 600.0)
    # then it is a duplicate and nothing more went out
    assert again["duplicate"] is True
    assert (len(rig.bus.events), len(rig.alerts.alerts), rig.metrics.as_dict()) == published


def test_a_dry_run_reports_nothing_and_sends_nothing() -> None:
    # given the manual dry-run payload of a sub-prefix
    rig, engine, files = rig_and_map()
    request = SweepRequest.from_event({"dry_run": True, "prefix": "backups/h1"}, "backups/", 0)
    # when the steps run
    result = run_all(engine, files, request)
    # then the answer is the sub-prefix's summary and no report, event or alert exists
    assert (result["dry_run"], result["report"], result["counts"]["tarballs"]) == (True, None, 2)
    assert (rig.store.saved, rig.bus.events, rig.alerts.alerts) == ({}, [], [])


def test_the_catch_alerts_sweep_incomplete_without_a_heartbeat() -> None:
    # given a run whose Map failed
    rig, engine, _ = rig_and_map()
    planned = engine.plan(nightly(), "exec-1")
    state = {**planned, "error": {"Error": "StorageError", "Cause": "S3 said 500"}}
    # when the catch runs
    result = engine.failed(state)
    # then one sweep-incomplete alert names the run and the error, and only SweepIncomplete is counted
    ((subject, text),) = rig.alerts.alerts
    assert rig.alerts.kinds == ["sweep-incomplete"]
    assert "INCOMPLETE" in subject
    assert planned["run"]["run_id"] in text
    assert "StorageError: S3 said 500" in text
    assert rig.metrics.names() == ["SweepIncomplete"]
    assert result["alerted"] is True


@pytest.mark.parametrize(
    "state",
    [
        {"dry_run": True, "error": {"Error": "ConfigError", "Cause": "bad payload"}},  # the plan failed
        "dry-run-after-plan",
    ],
)
def test_a_failed_dry_run_sends_nothing(state: Any) -> None:
    # given a dry run that failed before or after its plan
    rig, engine, _ = rig_and_map()
    if state == "dry-run-after-plan":
        planned = engine.plan(SweepRequest("backups/", 0, dry_run=True), "exec-1")
        state = {**planned, "error": {"Error": "States.TaskFailed"}}
    # when the catch runs, then nothing is sent or counted
    assert engine.failed(state)["alerted"] is False
    assert (rig.alerts.alerts, rig.metrics.names()) == ([], [])


def test_a_catch_before_any_plan_alerts_for_the_watched_prefix() -> None:
    # given a scheduled execution whose plan step failed
    rig, engine, _ = rig_and_map()
    # when the catch runs with only the execution's input and the error
    engine.failed({"trigger": "schedule", "error": {"Error": "Lambda.Unknown", "Cause": "timeout"}})
    # then the alert is about the watched prefix
    ((_, text),) = rig.alerts.alerts
    assert "s3://b/backups/" in text
    assert "Lambda.Unknown" in text


def test_an_execution_name_that_cannot_be_a_run_id_is_refused() -> None:
    _, engine, _ = rig_and_map()
    with pytest.raises(ConfigError, match="execution name"):
        engine.plan(nightly(), "../../etc")


def test_a_run_that_is_not_one_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="not a sweep-map run"):
        MapRun.from_dict({"run_id": "x"})


@pytest.mark.parametrize(
    "ranges",
    [
        [Shard("p/", KeyRange("", "p/b")), Shard("p/", KeyRange("p/c"))],  # a gap
        [Shard("p/", KeyRange("", "p/b"))],  # short of the end
        [Shard("p/", KeyRange("p/a"))],  # not from the start
        [Shard("p/"), Shard("p/", KeyRange("p/a"))],  # past the end
    ],
)
def test_ranges_that_do_not_meet_end_to_end_are_refused(ranges: list[Shard]) -> None:
    with pytest.raises(MapResultsError, match="planned ranges"):
        check_cover(ranges)


def test_a_function_on_one_flat_listing_and_the_map_agree() -> None:
    # given the function's sweep on one flat listing, and the map over ranges
    rig, engine, files = rig_and_map(concurrency=1)
    rig.service.run(nightly(), "fn-12345678", lambda: 600.0)
    flat = rig.store.saved.popitem()[1]
    # when the state machine's steps run
    run_all(engine, files, nightly())
    # then the reports agree
    (merged,) = rig.store.saved.values()
    assert essence_of(merged) == essence_of(flat)


def essence_of(report: dict[str, Any]) -> dict[str, Any]:
    kept = without_timings(report)
    kept["findings"] = sorted(report["findings"], key=lambda f: (f["key"], f["rule"]))  # type: ignore[no-any-return]
    return kept


def test_an_inventory_sweep_is_one_item_judged_as_of_the_inventory() -> None:
    # given an inventory taken a day ago, opened in place of the listing
    rig, engine, files = rig_and_map()
    taken = rig.clock() - timedelta(days=1)
    opened: list[str] = []

    def inventories(uri: str) -> tuple[Any, datetime]:
        opened.append(uri)
        return rig.bucket, taken

    rig.service = replace(rig.service, lister=FakeBucket(), inventories=inventories)
    engine = replace(engine, full=rig.service)
    request = SweepRequest.from_event(
        {"inventory": "s3://inv/manifest.json", "threshold": 100}, "backups/", 0
    )
    rig.service.run(request, "fn-12345678", lambda: 600.0)
    flat = rig.store.saved.popitem()[1]
    # when the steps run on the same payload
    result = run_all(engine, files, request)
    # then the plan made one item, every step opened the inventory, and the report is the function's
    assert MapRun.from_dict(files.items[next(iter(files.items))][0]["run"]).items == 1
    assert len(opened) == 1 + 2  # the function's run, then the plan and the one child
    (merged,) = rig.store.saved.values()
    assert essence_of(merged) == essence_of(flat)
    # and the payload's threshold held on both: no breach, so no alert
    assert (result["breach"], merged["threshold"], rig.alerts.alerts) == (False, 100, [])


@pytest.mark.parametrize("batch", [0, 1001])
def test_a_batch_size_out_of_bounds_is_refused_by_its_variable(batch: int) -> None:
    from sibling_sentinel.config import Config

    with pytest.raises(ConfigError, match="SWEEP_MAP_BATCH_RANGES must be between 1 and 1000"):
        Config(map_batch_ranges=batch)
