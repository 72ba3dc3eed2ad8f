"""A sweep that outgrows one invocation: checkpoint, carry on in the next, report once at the end."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.sweep.checkpoint import Checkpoint, CheckpointError
from sibling_sentinel.domain.sweep.full_sweep import (
    ALERT_INCOMPLETE,
    SweepAbandonedError,
    SweepIncompleteError,
    SweepRequest,
)
from sibling_sentinel.errors import ConfigError, ThrottledError

from fakes import (
    NOW,
    FakeBucket,
    FullSweepRig,
    obj,
)

PREFIX = "backups/"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:stack-FullSweep"


def fleet(hosts: int = 4, nights: int = 6) -> list[ListedObject]:
    """A few hosts with every kind of finding, so a split in the wrong place would show."""
    objects = []
    for h in range(hosts):
        for n in range(nights):
            key = f"{PREFIX}h{h}/n{n}.tar"
            objects.append(obj(key))
            if (h + n) % 5 == 1:
                continue  # missing
            objects.append(obj(key + ".list.txt", 10 if (h + n) % 7 == 2 else 300))
        objects.append(obj(f"{PREFIX}h{h}/gone.tar.list.txt", 300))  # orphan
    objects.append(obj(f"{PREFIX}h0/young.tar", age_s=60))  # pending
    return objects


class Rig(FullSweepRig):
    def __init__(
        self,
        objects: list[ListedObject],
        page_size: int = 2,
        max_invocations: int = 1000,
        concurrency: int = 1,
    ) -> None:
        super().__init__(objects, page_size, "reports/", 0.001, max_invocations, concurrency)

    def invoke(self, payload: dict[str, Any], pages_per_invocation: int | None) -> dict[str, Any]:
        """One invocation that has time for `pages_per_invocation` pages (None: all of them)."""
        pages = iter(range(10**9))
        budget = (
            (lambda: 600.0)
            if pages_per_invocation is None
            else (lambda: 600.0 if next(pages) < pages_per_invocation - 1 else 1.0)
        )
        request = SweepRequest.from_event(payload, PREFIX, 0)
        return self.service.run(request, "0123456789abcdef", budget, function=FUNCTION)

    def chain(self, budgets: list[int]) -> dict[str, Any]:
        """The schedule's invocation, then each continuation it asked for, until one reports."""
        payload: dict[str, Any] = {"trigger": "schedule"}
        for n in range(10_000):
            result = self.invoke(payload, budgets[n % len(budgets)])
            if not result.get("continued"):
                return result
            function, payload = self.invoker.invoked[-1]
            assert function == FUNCTION
        raise AssertionError("the chain did not end")

    def report(self) -> dict[str, Any]:
        (saved,) = self.store.saved.values()
        return {k: v for k, v in saved.items() if k != "duration_s"}


def uninterrupted(objects: list[ListedObject]) -> dict[str, Any]:
    rig = Rig(objects)
    rig.chain([10**9])
    return rig.report()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(budgets=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8))
def test_any_cut_points_give_exactly_the_uninterrupted_report(budgets: list[int]) -> None:
    # given a fleet with every kind of finding, and invocations with random, tiny time budgets
    objects = fleet()
    rig = Rig(objects)
    # when the sweep runs as a chain of invocations
    result = rig.chain(budgets)
    # then the one report equals an uninterrupted sweep's, and the run reported once
    assert rig.report() == uninterrupted(objects)
    assert result["complete"] is True
    assert rig.metrics.names().count("SweepCompleted") == 1
    assert rig.metrics.names().count("SweepContinued") == result["invocations"] - 1
    assert len(rig.alerts.alerts) == 1
    assert rig.checkpoints.saved == {}  # every checkpoint was dropped once used


def in_key_order(report: dict[str, Any]) -> dict[str, Any]:
    """Range shards finish in any order; everything else in the report must be the same."""
    return {**report, "findings": sorted(report["findings"], key=lambda f: (f["key"], f["rule"]))}


def nested_fleet() -> list[ListedObject]:
    """The fleet, plus hosts with day folders and a tarball whose sub-folder sorts before its listing."""
    objects = fleet()
    for day in ("01", "02", "03"):
        objects += [obj(f"{PREFIX}deep/{day}/n.tar"), obj(f"{PREFIX}deep/{day}/n.tar.list.txt", 300)]
    objects += [
        obj(f"{PREFIX}h1/x.tar.gz"),
        obj(f"{PREFIX}h1/x.tar.gz.d/a"),
        obj(f"{PREFIX}h1/x.tar.gz.list.txt", 300),
    ]
    return objects


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budgets=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8),
    hidden=st.sets(
        st.sampled_from([f"{PREFIX}h{h}/" for h in range(4)] + [f"{PREFIX}deep/", f"{PREFIX}deep/02/"])
    ),
    concurrency=st.integers(min_value=2, max_value=5),
)
def test_a_concurrent_sweep_paused_anywhere_and_split_anywhere_gives_the_uninterrupted_report(
    budgets: list[int], hidden: set[str], concurrency: int
) -> None:
    # given range shards on threads, cut wherever a server's folders say (some left out), and random budgets
    objects = nested_fleet()
    rig = Rig(objects, concurrency=concurrency)
    rig.bucket.hidden_folders = hidden
    # when the sweep runs as a chain of invocations, pausing every range between pages
    result = rig.chain(budgets)
    # then the one report equals one uninterrupted flat sweep's, and the run reported once
    assert in_key_order(rig.report()) == in_key_order(uninterrupted(objects))
    assert result["complete"] is True
    assert rig.metrics.names().count("SweepCompleted") == 1
    assert rig.checkpoints.saved == {}


def test_a_crash_between_pages_loses_nothing() -> None:
    # given a sweep already carried on once
    objects = fleet()
    rig = Rig(objects)
    first = rig.invoke({"trigger": "schedule"}, 3)
    (_, payload) = rig.invoker.invoked[-1]
    # when the next invocation crashes (throttled past its retries) after two pages
    rig.bucket.fail_after_pages = (2, ThrottledError("SlowDown"))
    with pytest.raises(ThrottledError):
        rig.invoke(payload, None)
    # and Lambda retries the same event once S3 recovers
    rig.bucket.fail_after_pages = None
    result = rig.invoke(payload, None)
    # then the report is exactly the uninterrupted one
    assert first["continued"] is True
    assert result["complete"] is True
    assert rig.report() == uninterrupted(objects)


def test_a_duplicated_last_invocation_reports_nothing_twice() -> None:
    # given a run whose last invocation is delivered twice (async events are at least once)
    rig = Rig(fleet())
    rig.invoke({"trigger": "schedule"}, 4)
    (_, payload) = rig.invoker.invoked[-1]
    saved = dict(rig.checkpoints.saved)
    rig.invoke(payload, None)
    rig.checkpoints.saved.update(saved)  # the duplicate still finds the checkpoint
    # when the duplicate runs
    duplicate = rig.invoke(payload, None)
    # then it finds the report written and publishes nothing
    assert duplicate["duplicate"] is True
    assert rig.metrics.names().count("SweepCompleted") == 1
    assert len(rig.bus.events) == 1
    assert len(rig.alerts.alerts) == 1


def test_a_run_older_than_its_limit_is_abandoned_loudly() -> None:
    # given a paused run
    rig = Rig(fleet())
    rig.invoke({"trigger": "schedule"}, 2)
    (_, payload) = rig.invoker.invoked[-1]
    # when its continuation arrives seven hours after the run started
    rig.clock.now = NOW + timedelta(hours=7)
    with pytest.raises(SweepAbandonedError, match="NOT a pass"):
        rig.invoke(payload, None)
    # then it is counted, alerted and dropped; nothing is reported as a pass
    assert "SweepAbandoned" in rig.metrics.names()
    assert rig.alerts.kinds == [ALERT_INCOMPLETE]
    assert rig.checkpoints.saved == {}
    assert rig.store.saved == {}


def test_the_chain_is_bounded() -> None:
    # given a function allowed two invocations per run
    rig = Rig(fleet(), max_invocations=2)
    # when both run short of time
    rig.invoke({"trigger": "schedule"}, 1)
    (_, payload) = rig.invoker.invoked[-1]
    # then the second stops with an incomplete report instead of invoking a third
    with pytest.raises(SweepIncompleteError):
        rig.invoke(payload, 1)
    assert len(rig.invoker.invoked) == 1
    (saved,) = rig.store.saved.values()
    assert saved["complete"] is False


def test_without_a_function_to_invoke_a_short_sweep_is_incomplete() -> None:
    rig = Rig(fleet())
    request = SweepRequest.from_event({}, PREFIX, 0)
    with pytest.raises(SweepIncompleteError):
        rig.service.run(request, "id", lambda: 1.0, function="")
    assert rig.invoker.invoked == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"checkpoint": "reports/checkpoints/x/0001.jsonl", "prefix": "backups/"}, "nothing else"),
        ({"checkpoint": 5}, "nothing else"),
    ],
)
def test_continuation_payloads_are_exact(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SweepRequest.from_event(payload, PREFIX, 0)


def test_only_its_own_checkpoints_are_read() -> None:
    rig = Rig(fleet())
    with pytest.raises(ConfigError, match="not one of this function's checkpoints"):
        rig.invoke({"checkpoint": "backups/h0/n0.tar"}, None)


@pytest.mark.parametrize(
    "text",
    ["", '{"v": 2}', '{"v": 1, "run_id": "r"}', '{"v": 1, "findings": 3, "run_id": "r", "invocation": 1}'],
)
def test_an_unreadable_checkpoint_is_an_error(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.read(iter(text.splitlines()))


def test_an_inventory_sweep_carries_on_with_its_own_reference_time() -> None:
    # given a sweep of an inventory taken a day ago, whose young tarball was young then too
    objects = fleet()
    taken = NOW - timedelta(days=1)
    aged = [ListedObject(o.key, o.size, o.last_modified - timedelta(days=1), o.etag) for o in objects]
    rig = Rig(aged)
    opened: list[str] = []

    def inventories(uri: str) -> tuple[FakeBucket, Any]:
        opened.append(uri)
        return rig.bucket, taken

    rig.service = replace(rig.service, lister=FakeBucket(), inventories=inventories)
    # when it runs as a chain of short invocations
    payload: dict[str, Any] = {"inventory": "s3://inv/manifest.json"}
    while True:
        result = rig.invoke(payload, 3)
        if not result.get("continued"):
            break
        payload = rig.invoker.invoked[-1][1]
    # then every invocation reopened the inventory, and verdicts were judged as of when it was taken
    assert len(opened) == result["invocations"] > 1
    assert rig.report()["counts"]["pending"] == 1
    assert rig.report()["counts"] == uninterrupted(objects)["counts"]
