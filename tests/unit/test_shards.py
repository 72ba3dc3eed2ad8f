"""The sharded, concurrent sweep: same verdicts as one flat listing, failures fail it, threads end."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime
from typing import Any

import pytest

from sibling_sentinel.config import Config
from sibling_sentinel.domain.manifests.inspection import ManifestInspector, ManifestReads
from sibling_sentinel.domain.sweep.report import Report, Tally
from sibling_sentinel.domain.sweep.shards import EXTRA_DEPTH, Done, Plan, Shard
from sibling_sentinel.domain.sweep.sweep import TALLY_OBJECTS, ShardSweeper, Sweep
from sibling_sentinel.errors import AccessDeniedError

from fakes import NOW, FakeBucket, FakeClock, SerialPool, essence, manifest_body, obj

POLICY = Config().policy()


def bucket_with_everything() -> FakeBucket:
    """Loose keys under the prefix, many hosts, nested folders, odd names and every verdict."""
    objects = [
        obj("backups/top.tar"),
        obj("backups/top.tar.list.txt"),
        obj("backups/loose-orphan.tar.list.txt"),
        obj("backups/a b+c %2B/x.tar"),
        obj("backups/a b+c %2B/x.tar.list.txt", 10),
        obj("backups/deep/2026/01/y.tgz"),
        obj("backups/deep/2026/01/y.tgz.list.txt"),
        obj("backups/deep/2026/02/z.tgz"),
        obj("backups/résumé/日本.tar.zst", age_s=60),
    ]
    for host in range(40):
        for night in range(30):
            tarball = f"backups/host{host:02d}/{night:02d}.tar.zst"
            objects.append(obj(tarball))
            if (host + night) % 7:
                objects.append(obj(tarball + ".list.txt"))
        objects.append(obj(f"backups/host{host:02d}/logs/notes.list.txt"))
    return FakeBucket(objects, page_size=7)


def sweep(bucket: FakeBucket, concurrency: int, group_depth: int = 1) -> Report:
    engine = Sweep(bucket, POLICY, 0, group_depth, FakeClock(), concurrency=concurrency)
    return engine.run("b", "backups/")


def sweep_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sweep-shard")]


@pytest.mark.parametrize("group_depth", [0, 1, 2])
@pytest.mark.parametrize("concurrency", [2, 16])
def test_a_concurrent_sweep_reports_exactly_what_one_flat_listing_does(
    concurrency: int, group_depth: int
) -> None:
    # given a bucket with loose keys, nested folders, odd names and problems of every kind
    bucket = bucket_with_everything()

    # when it is swept flat (concurrency 1) and sharded
    flat = sweep(bucket, 1, group_depth)
    sharded = sweep(bucket, concurrency, group_depth)

    # then both reports say the same, finding for finding
    assert essence(sharded) == essence(flat)
    assert sharded.objects_listed == len(bucket.objects)


def test_keys_directly_under_the_prefix_are_judged_in_a_sharded_sweep() -> None:
    # given a tarball and an orphan directly under the prefix, beside host folders
    bucket = bucket_with_everything()

    # when it is swept with shards
    report = sweep(bucket, 8)

    # then the loose tarball is judged ok and the loose orphan is reported
    assert report.groups["."].counts["ok"] == 1
    assert "backups/loose-orphan.tar.list.txt" in {f["key"] for f in report.findings}


def test_concurrency_1_lists_the_prefix_once_without_a_delimiter() -> None:
    # given a bucket
    bucket = bucket_with_everything()

    # when it is swept with one worker
    sweep(bucket, 1)

    # then the prefix was listed flat, once, as before sharding existed
    assert bucket.trees_listed == ["backups/"]
    assert bucket.folders_listed == []


def test_folders_at_the_group_depth_are_listed_whole_when_they_outnumber_the_workers() -> None:
    # given 40 hosts and 16 workers
    bucket = bucket_with_everything()

    # when swept
    sweep(bucket, 16)

    # then only the prefix was probed for its folders, and every host is one key range, listed flat
    # under the prefix from that host's folder on
    assert bucket.folders_listed == ["backups/"]
    starts = {start for prefix, start in bucket.ranges_listed if prefix == "backups/"}
    assert {f"backups/host{h:02d}/" for h in range(40)} <= starts
    assert {"", "backups/a b+c %2B/", "backups/deep/", "backups/résumé/"} <= starts


def test_a_folder_with_fewer_sub_folders_than_workers_is_split_one_level_deeper() -> None:
    plan = Plan(group_depth=1, workers=16)
    root = plan.root("p/")
    # given three host folders and sixteen workers, then two sub-folders under one of them
    hosts = plan.pieces(root, "", ["p/a/", "p/b/", "p/c/"], siblings=3, last=True)
    months = plan.pieces(hosts[1], "p/a/", ["p/a/01/", "p/a/02/"], siblings=2, last=True)
    days = plan.pieces(months[1], "p/a/01/", ["p/a/01/01/"], siblings=1, last=True)
    # then the pieces meet end to end, from the shard's start to its end
    assert [s.keys.to_list() for s in hosts] == [
        ["", "p/a/"],
        ["p/a/", "p/b/"],
        ["p/b/", "p/c/"],
        ["p/c/", None],
    ]
    assert [s.keys.to_list() for s in months] == [
        ["p/a/", "p/a/01/"],
        ["p/a/01/", "p/a/02/"],
        ["p/a/02/", "p/b/"],
    ]
    # and hosts and months are split further, but never more than EXTRA_DEPTH levels past the group depth
    assert [s.folder for s in hosts] == [None, "p/a/", "p/b/", "p/c/"]
    assert [s.folder for s in months] == [None, "p/a/01/", "p/a/02/"]
    assert EXTRA_DEPTH == 2
    assert [s.folder for s in days] == [None, None]
    # and the last piece lists under the shard's own prefix: its range runs past the folder
    assert [s.prefix for s in months] == ["p/a/", "p/a/", "p/"]


def test_folders_above_the_group_depth_are_always_split() -> None:
    # given a group depth of 2 and many sub-folders at depth 1
    plan = Plan(group_depth=2, workers=4)
    # when their shards are planned
    shards = plan.pieces(plan.root("p/"), "", [f"p/{i}/" for i in range(10)], siblings=10, last=True)
    # then each is split at its own folders, to find the hosts under it
    assert [s.folder for s in shards[1:]] == [f"p/{i}/" for i in range(10)]


def test_a_failure_in_one_shard_fails_the_whole_sweep_and_stops_every_worker() -> None:
    # given one host whose listing is denied among forty that list fine
    bucket = bucket_with_everything()
    bucket.fail_under = ("backups/host17/", AccessDeniedError("listing s3://b/backups/host17/: AccessDenied"))

    # when swept with shards
    # then the sweep raises instead of reporting the hosts it could see
    with pytest.raises(AccessDeniedError, match="host17"):
        sweep(bucket, 8)
    # and no worker is left running
    assert sweep_threads() == []


def test_a_consumer_that_stops_early_leaves_no_worker_running() -> None:
    # given a sharded sweep whose progress callback gives up after the first page
    bucket = bucket_with_everything()
    engine = Sweep(bucket, POLICY, 0, 1, FakeClock(), concurrency=8)

    def give_up(pages: int, report: Report) -> None:
        raise KeyboardInterrupt

    # when it runs
    with pytest.raises(KeyboardInterrupt):
        engine.run("b", "backups/", progress=give_up)

    # then every worker has ended
    assert sweep_threads() == []


def test_an_empty_prefix_gives_an_empty_report() -> None:
    # given no objects at all
    # when swept with shards
    report = sweep(FakeBucket(), 8)
    # then nothing is listed or judged
    assert report.objects_listed == 0
    assert report.counts["tarballs"] == 0


# --- the worker processes' path: shards swept into Tallies, merged by the sweep ----------------------


class InlineWorkers:
    """A `ShardRunner` that sweeps each shard at once, in this thread, with a `ShardSweeper`: the
    path a worker process takes, without the process (test_processes.py runs the real ones)."""

    def __init__(self, sweeper: ShardSweeper, slots: int) -> None:
        self.sweeper = sweeper
        self._slots = slots
        self.items: deque[Any] = deque()
        self.closed = False

    @property
    def slots(self) -> int:
        return self._slots

    def start(self, shard: Shard) -> None:
        error: BaseException | None = None
        try:
            self.sweeper.sweep(shard, self.items.append)
        except Exception as e:
            error = e
        self.items.append(Done(error))

    def next(self) -> Any:
        return self.items.popleft()

    def pause(self) -> None:
        raise AssertionError("a sweep that may pause runs on threads")

    def close(self) -> None:
        self.closed = True


def with_manifests(bucket: FakeBucket) -> FakeBucket:
    """Corpus tarballs with a valid manifest, an invalid one and none, beside everything else."""
    for name, body in (
        ("good", manifest_body("good.tgz")),
        ("bad", manifest_body("bad.tgz", schema_version=2)),
    ):
        bucket.objects[f"backups/corpus/{name}.tgz"] = obj(f"backups/corpus/{name}.tgz")
        bucket.objects[f"backups/corpus/{name}.tgz.list.txt"] = obj(f"backups/corpus/{name}.tgz.list.txt")
        bucket.put(f"backups/corpus/{name}.manifest.json", body)
    bucket.objects["backups/corpus/none.tgz"] = obj("backups/corpus/none.tgz")
    return bucket


def test_tallies_from_worker_shards_make_the_report_one_flat_listing_makes_manifests_included() -> None:
    # given a bucket with every verdict, odd names and manifests to read, and the manifest rule required
    bucket = with_manifests(bucket_with_everything())
    policy = Config(manifest_rule="required").policy()
    reads = ManifestReads(ManifestInspector(bucket), SerialPool(), 4)
    workers: list[InlineWorkers] = []

    def start(name: str, prefix: str, plan: Plan, now: datetime) -> InlineWorkers:
        sweeper = ShardSweeper(bucket, policy, plan, name, prefix, 1, now, reads)
        workers.append(InlineWorkers(sweeper, plan.workers))
        return workers[0]

    # when it is swept flat, and with its shards swept by workers that send back Tallies
    flat = Sweep(bucket, policy, 0, 1, FakeClock(), manifests=reads).run("b", "backups/")
    pages: list[int] = []
    tallied = Sweep(bucket, policy, 0, 1, FakeClock(), manifests=reads, concurrency=8, shard_processes=start)
    report = tallied.run("b", "backups/", progress=lambda n, r: pages.append(r.objects_listed))

    # then both reports say the same, manifests' verdicts and checksum counts included
    assert essence(report) == essence(flat)
    assert report.to_dict()["counts"]["invalid"] == 1
    assert report.objects_listed == len(bucket.objects)
    # and the workers were started once, with the sweep's plan, and closed; progress came page by page
    assert len(workers) == 1
    assert workers[0].sweeper.plan == Plan(1, 8)
    assert workers[0].closed
    assert pages == sorted(pages)
    assert pages[-1] == len(bucket.objects)


def test_a_worker_shards_failure_fails_the_sweep_and_closes_the_workers() -> None:
    # given a host whose listing is denied, swept by workers
    bucket = bucket_with_everything()
    bucket.fail_under = ("backups/host17/", AccessDeniedError("listing s3://b/backups/host17/: AccessDenied"))
    workers: list[InlineWorkers] = []

    def start(name: str, prefix: str, plan: Plan, now: datetime) -> InlineWorkers:
        workers.append(InlineWorkers(ShardSweeper(bucket, POLICY, plan, name, prefix, 1, now), 4))
        return workers[0]

    # when swept
    # then the sweep raises the shard's error instead of reporting the hosts it could see
    with pytest.raises(AccessDeniedError, match="host17"):
        Sweep(bucket, POLICY, 0, 1, FakeClock(), concurrency=4, shard_processes=start).run("b", "backups/")
    assert workers[0].closed


def test_a_worker_sends_its_share_of_the_report_every_so_many_objects_not_every_page() -> None:
    # given one host of 25,000 keys, listed 1,000 a page, swept by a worker's ShardSweeper
    objects = []
    for night in range(12_500):
        tarball = f"backups/h/{night:05d}.tar"
        objects += [obj(tarball), obj(tarball + ".list.txt")]
    bucket = FakeBucket(objects, page_size=1000)
    plan = Plan(1, 1)
    sent: list[Any] = []

    # when it sweeps the whole prefix as one shard
    ShardSweeper(bucket, POLICY, plan, "b", "backups/", 1, NOW).sweep(plan.root("backups/"), sent.append)

    # then it sent a Tally per TALLY_OBJECTS objects and one at the end, with every page counted once
    tallies = [t for t in sent if isinstance(t, Tally)]
    assert [t.objects for t in tallies] == [TALLY_OBJECTS, TALLY_OBJECTS, 25_000 - 2 * TALLY_OBJECTS]
    assert [t.pages for t in tallies] == [t.objects // 1000 for t in tallies]
    # and merged, they make the report of one flat listing
    merged = Report("b", "backups/", 0, 1, started_at=NOW)
    for tally in tallies:
        merged.merge(tally)
    flat = Sweep(bucket, POLICY, 0, 1, FakeClock()).run("b", "backups/")
    assert essence(merged) == essence(flat)
    assert merged.to_dict()["counts"]["ok"] == 12_500
