"""Listing a prefix as disjoint folder shards, many at once, each shard reconciled on its own.

A tarball and its siblings always share a folder (a rule's suffix has no '/'), so a stream that holds
whole folders can be reconciled alone. A shard is either a folder's own keys (listed with
`Delimiter="/"`, which also finds its sub-folders, the next shards) or a whole folder tree (listed
flat). Folders above the group depth are split; at the group depth a folder is listed whole, unless
its parent has fewer sub-folders than there are workers, when splitting one more level keeps the
workers busy (at most `EXTRA_DEPTH` levels deeper). Shards' results interleave in the report; each
shard's own outcomes come in key order. `run_shards` decides what runs; a `ShardRunner` runs it, on
threads here (`ShardThreads`) or on the CLI's worker processes (`processes.py`).

Memory is bounded by the pool, not the bucket: each running shard holds one page and its
reconciler's open entries (the tarballs of its current folder that still wait for a sibling); the
queue to the consumer holds at most `2 * workers` batches of one page's outcomes; shards not yet
started are one prefix each (a ~100-byte string per folder at the group depth).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .objects import FolderPage, ListedObject
from .reconcile import Reconciler
from .report import Tally
from .verdicts import Outcome

EXTRA_DEPTH = 2
_POLL_S = 0.05


class Lister(Protocol):
    """Lists a prefix in S3 key order. A generator, so a sweep that stops early can close it."""

    def pages(
        self, bucket: str, prefix: str, start_after: str = ""
    ) -> Generator[Sequence[ListedObject], None, None]: ...


@runtime_checkable
class FolderLister(Lister, Protocol):
    """A lister that can also list a folder's own keys and its sub-folders, so it can be sharded."""

    def folder(self, bucket: str, prefix: str) -> Iterator[FolderPage]: ...


@dataclass(frozen=True)
class Shard:
    prefix: str
    depth: int
    whole: bool


@dataclass(frozen=True)
class Batch:
    """What one page of one shard gave: how many objects it listed and the outcomes now final."""

    objects: int
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass(frozen=True)
class Done:
    """A shard has ended; `error` is set when it failed, and then the whole sweep fails."""

    error: BaseException | None = None


class _Stopped(Exception):
    """The consumer has gone; a worker leaves quietly."""


@dataclass(frozen=True)
class Plan:
    group_depth: int
    workers: int

    def root(self, prefix: str) -> Shard:
        return Shard(prefix, 0, whole=self.workers == 1 or not self._split(0, 1))

    def children(self, folders: Sequence[str], depth: int, siblings: int) -> list[Shard]:
        """Sub-folders of a folder that has `siblings` of them: whole, or split once more when too few."""
        whole = not self._split(depth, siblings)
        return [Shard(f, depth, whole) for f in folders]

    def _split(self, depth: int, siblings: int) -> bool:
        if depth < self.group_depth:
            return True
        return depth < self.group_depth + EXTRA_DEPTH and siblings < self.workers


class ShardRunner(Protocol):
    """Runs up to `slots` shards at once and hands back what they give, in order within each shard.

    `ShardThreads` runs them on this process's threads and hands back `Batch`es of outcomes; the CLI's
    worker processes (`processes.py`) hand back `Tally`s, shares of the report built where the
    outcomes were, because outcomes cost more to send between processes than to count.
    """

    @property
    def slots(self) -> int: ...

    def start(self, shard: Shard) -> None: ...

    def next(self) -> Batch | Tally | Shard | Done: ...

    def close(self) -> None: ...


def run_shards(root: Shard, runner: ShardRunner) -> Iterator[Batch | Tally]:
    """Starts shards as slots free up, new shards as listings find them; any shard's error ends it all.

    The runner belongs to the caller, who closes it (`contextlib.closing`) so that no worker outlives
    the sweep, however it ends.
    """
    pending = deque([root])
    running = 0
    while pending or running:
        while pending and running < runner.slots:
            runner.start(pending.popleft())
            running += 1
        item = runner.next()
        if isinstance(item, Shard):
            pending.append(item)
        elif isinstance(item, Done):
            running -= 1
            if item.error is not None:
                raise item.error
        else:
            yield item


def list_shard(
    lister: FolderLister,
    bucket: str,
    shard: Shard,
    plan: Plan,
    reconciler: Reconciler,
    post: Callable[[Batch | Shard], None],
) -> None:
    """One shard, page by page: each page's final outcomes, then its sub-folders as new shards."""
    if shard.whole:
        for objects in lister.pages(bucket, shard.prefix):
            post(Batch(len(objects), reconciler.feed_page(objects)))
    else:
        held: list[str] = []  # until there are enough sub-folders to know they need no more splitting
        seen = 0
        for page in lister.folder(bucket, shard.prefix):
            held += page.folders
            seen += len(page.folders)
            if seen >= plan.workers:
                for child in plan.children(held, shard.depth + 1, seen):
                    post(child)
                held = []
            post(Batch(len(page.objects), reconciler.feed_page(page.objects)))
        for child in plan.children(held, shard.depth + 1, seen):
            post(child)
    post(Batch(0, reconciler.finish()))


class ShardThreads:
    """Shards on a pool of this process's threads; the consumer gets their outcomes as they are."""

    def __init__(
        self, lister: FolderLister, bucket: str, plan: Plan, reconciler: Callable[[], Reconciler]
    ) -> None:
        self._lister = lister
        self._bucket = bucket
        self._plan = plan
        self._reconciler = reconciler
        self._results: queue.Queue[Batch | Shard | Done] = queue.Queue(maxsize=2 * plan.workers)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(plan.workers, thread_name_prefix="sweep-shard")

    @property
    def slots(self) -> int:
        return self._plan.workers

    def start(self, shard: Shard) -> None:
        self._pool.submit(self._work, shard)

    def next(self) -> Batch | Shard | Done:
        return self._results.get()

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _post(self, item: Batch | Shard | Done) -> None:
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                self._results.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _work(self, shard: Shard) -> None:
        error: BaseException | None = None
        try:
            list_shard(self._lister, self._bucket, shard, self._plan, self._reconciler(), self._post)
        except _Stopped:
            return
        except BaseException as e:  # any failure fails the sweep, in the consumer's thread
            error = e
        try:
            self._post(Done(error))
        except _Stopped:
            return
