"""The CLI's worker processes (`cli/processes.py`), real processes over an in-memory bucket built in each.

Each worker builds its own `ShardSweeper` from `build` (here a fake bucket; in the CLI, an S3 client).
The build is a module-level function, so it reaches a worker whether it is forked or spawned.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

import pytest

from sibling_sentinel.cli import processes
from sibling_sentinel.cli.processes import ShardProcesses
from sibling_sentinel.config import Config
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.domain.sweep.shards import Plan, Shard
from sibling_sentinel.domain.sweep.sweep import ShardSweeper, Sweep
from sibling_sentinel.errors import AccessDeniedError, SentinelError

from fakes import FakeBucket, FakeClock, essence, obj

POLICY = Config().policy()


def odd_bucket() -> FakeBucket:
    """Hosts with every verdict and the keys that break naive code, loose keys under the prefix too."""
    odd = ["a b", "a+b", "100%", "50%25", "x&y<z>", "résumé-日本", "q?x=1#f", "k" * 900]
    objects = [obj("backups/top.tar"), obj("backups/top.tar.list.txt"), obj("backups/orphan.tar.list.txt")]
    for host in range(12):
        for night in range(20):
            tarball = f"backups/host{host:02d}/{odd[night % len(odd)]}-{night:02d}.tar.zst"
            objects.append(obj(tarball))
            if (host + night) % 5:
                objects.append(obj(tarball + ".list.txt", 10 if night == 3 else 1000))
    return FakeBucket(objects, page_size=6)


class DyingBucket(FakeBucket):
    """A bucket whose listing of one host kills the process listing it, as an OOM kill would."""

    def pages(self, bucket: str, prefix: str, start_after: str = "") -> Any:
        if start_after.startswith("backups/host05/"):  # the key range that holds host05
            os._exit(7)
        return super().pages(bucket, prefix, start_after)


@contextmanager
def fake_sweeper(
    kind: str, bucket_name: str, prefix: str, plan: Plan, now: datetime
) -> Iterator[ShardSweeper]:
    """What a worker builds for itself; `kind` picks the bucket it sees."""
    if kind == "broken-build":
        raise AccessDeniedError("building the worker: AccessDenied")
    bucket = odd_bucket()
    if kind == "denied":
        bucket.fail_under = (
            "backups/host07/",
            AccessDeniedError("listing s3://b/backups/host07/: AccessDenied"),
        )
    if kind == "dying":
        bucket = DyingBucket(bucket.objects.values(), page_size=6)
    yield ShardSweeper(bucket, POLICY, plan, bucket_name, prefix, 1, now)


def workers_of(kind: str, processes_: int, started: list[ShardProcesses]) -> Any:
    def start(bucket: str, prefix: str, plan: Plan, now: datetime) -> ShardProcesses:
        build = partial(fake_sweeper, kind, bucket, prefix, plan, now)
        started.append(ShardProcesses(build, processes_, plan.workers))
        return started[-1]

    return start


def sweep(
    kind: str = "ok", processes_: int = 2, started: list[ShardProcesses] | None = None
) -> tuple[Report, list[ShardProcesses]]:
    started = [] if started is None else started
    engine = Sweep(
        odd_bucket(),  # the parent's lister is not used: the workers list
        POLICY,
        0,
        1,
        FakeClock(),
        concurrency=6,
        shard_processes=workers_of(kind, processes_, started),
    )
    return engine.run("b", "backups/"), started


def flat() -> Report:
    return Sweep(odd_bucket(), POLICY, 0, 1, FakeClock()).run("b", "backups/")


def assert_all_ended(started: list[ShardProcesses]) -> None:
    alive = [c for c in multiprocessing.active_children() if c.pid in {p for w in started for p in w.pids}]
    assert alive == []


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_processes_report_exactly_what_one_flat_listing_does(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given workers started by fork, or by spawn (as when the parent already runs threads)
    monkeypatch.setattr(processes, "start_method", lambda: method)

    # when a bucket of odd keys is swept on two worker processes of three threads each
    report, started = sweep()

    # then the report is the flat listing's, finding for finding, and no worker is left
    assert essence(report) == essence(flat())
    assert report.to_dict()["counts"]["undersized"] > 0
    assert report.to_dict()["counts"]["missing"] > 0
    assert len(started) == 1
    assert len(started[0].pids) == 2
    assert_all_ended(started)


def test_one_worker_process_with_every_slot_gives_the_same_report() -> None:
    # given one worker process holding all six slots
    # when swept
    report, started = sweep(processes_=1)
    # then the report is the flat listing's
    assert essence(report) == essence(flat())
    assert_all_ended(started)


def test_a_shards_error_in_a_worker_fails_the_sweep_with_that_error_and_stops_every_worker() -> None:
    # given a host whose listing is denied, listed in a worker process
    # when swept
    started: list[ShardProcesses] = []
    with pytest.raises(AccessDeniedError, match="host07"):
        sweep("denied", started=started)
    # then the product's own error crossed the process boundary, and no worker is left running
    assert_all_ended(started)


def test_a_worker_that_dies_ends_the_sweep_with_an_error_not_a_report() -> None:
    # given a worker process that is killed while it lists a host
    # when swept
    # then the sweep fails with the worker's exit code, never reporting the other hosts as a pass
    started: list[ShardProcesses] = []
    with pytest.raises(SentinelError, match=r"ended \(exit code 7\).*did not finish"):
        sweep("dying", started=started)
    assert_all_ended(started)


def test_a_worker_that_cannot_build_its_clients_fails_the_sweep_with_the_reason() -> None:
    # given workers whose own setup is denied
    # when swept
    # then the setup's error is the sweep's
    started: list[ShardProcesses] = []
    with pytest.raises(AccessDeniedError, match="building the worker"):
        sweep("broken-build", started=started)
    assert_all_ended(started)


def test_a_sweep_stopped_by_its_consumer_leaves_no_worker_running() -> None:
    # given a sharded sweep on worker processes whose progress callback gives up at the first page
    started: list[ShardProcesses] = []
    workers = workers_of("ok", 2, started)
    engine = Sweep(odd_bucket(), POLICY, 0, 1, FakeClock(), concurrency=6, shard_processes=workers)

    def give_up(pages: int, report: Report) -> None:
        raise KeyboardInterrupt

    # when it runs
    with pytest.raises(KeyboardInterrupt):
        engine.run("b", "backups/", progress=give_up)

    # then every worker process has ended
    assert_all_ended(started)


def test_errors_that_cannot_cross_a_process_boundary_arrive_as_their_text() -> None:
    # given an error holding something pickle refuses (a lock)
    import threading

    class Odd(Exception):
        def __init__(self) -> None:
            super().__init__("odd failure")
            self.lock = threading.Lock()

    # when made portable
    portable = processes.portable(Odd())
    # then it is a SentinelError naming the original; a picklable error stays itself
    assert isinstance(portable, SentinelError)
    assert str(portable) == "in a sweep worker: Odd: odd failure"
    denied = AccessDeniedError("no")
    assert processes.portable(denied) is denied


def test_an_exit_inside_a_worker_becomes_an_error_not_a_quiet_end() -> None:
    # given a shard that raised SystemExit(0), which would otherwise end the CLI with exit 0
    # when made portable
    portable = processes.portable(SystemExit(0))
    # then it is an error that fails the sweep
    assert isinstance(portable, SentinelError)
    assert str(portable) == "in a sweep worker: SystemExit: 0"


def test_more_processes_than_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 2 worker processes"):
        ShardProcesses(partial(fake_sweeper, "ok", "b", "backups/", Plan(1, 2), datetime.now()), 3, 2)


@contextmanager
def exits_at_once(bucket_name: str, prefix: str, plan: Plan, now: datetime) -> Iterator[ShardSweeper]:
    """A worker killed before it takes its first shard."""
    os._exit(9)
    yield  # type: ignore[misc]  # never reached


def test_a_worker_that_died_before_taking_a_shard_fails_the_sweep_with_its_exit_code() -> None:
    # given a worker process that is already gone
    runner = ShardProcesses(partial(exits_at_once, "b", "backups/", Plan(1, 1), datetime.now()), 1, 1)
    [pid] = runner.pids
    while any(c.pid == pid for c in multiprocessing.active_children()):
        pass
    # when the sweep hands it a shard
    # then the sweep fails at once, naming the worker and its exit code
    with pytest.raises(SentinelError, match=rf"process {pid} ended \(exit code 9\)"):
        runner.start(Shard("backups/"))
    runner.close()
