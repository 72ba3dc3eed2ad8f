"""Listing a prefix as disjoint folder shards on a pool of threads, each shard reconciled on its own.

A tarball and its siblings always share a folder (a rule's suffix has no '/'), so a stream that holds
whole folders can be reconciled alone. A shard is either a folder's own keys (listed with
`Delimiter="/"`, which also finds its sub-folders, the next shards) or a whole folder tree (listed
flat). Folders above the group depth are split; at the group depth a folder is listed whole, unless
its parent has fewer sub-folders than there are workers, when splitting one more level keeps the
workers busy (at most `EXTRA_DEPTH` levels deeper). Shards' results interleave in the report; each
shard's own outcomes come in key order.

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
class _Done:
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


class ShardedListing:
    """`batches()` runs the pool; closing it, or any error, stops every worker before it returns."""

    def __init__(
        self,
        lister: FolderLister,
        bucket: str,
        prefix: str,
        plan: Plan,
        reconciler: Callable[[], Reconciler],
    ) -> None:
        self._lister = lister
        self._bucket = bucket
        self._prefix = prefix
        self._plan = plan
        self._reconciler = reconciler
        self._results: queue.Queue[Batch | Shard | _Done] = queue.Queue(maxsize=2 * plan.workers)
        self._stop = threading.Event()

    def batches(self) -> Generator[Batch, None, None]:
        pending = deque([self._plan.root(self._prefix)])
        running = 0
        pool = ThreadPoolExecutor(self._plan.workers, thread_name_prefix="sweep-shard")
        try:
            while pending or running:
                while pending and running < self._plan.workers:
                    pool.submit(self._work, pending.popleft())
                    running += 1
                item = self._results.get()
                if isinstance(item, Batch):
                    yield item
                elif isinstance(item, Shard):
                    pending.append(item)
                else:
                    running -= 1
                    if item.error is not None:
                        raise item.error
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def _post(self, item: Batch | Shard | _Done) -> None:
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
            self._list(shard)
        except _Stopped:
            return
        except BaseException as e:  # any failure fails the sweep, in the consumer's thread
            error = e
        try:
            self._post(_Done(error))
        except _Stopped:
            return

    def _list(self, shard: Shard) -> None:
        reconciler = self._reconciler()
        if shard.whole:
            for objects in self._lister.pages(self._bucket, shard.prefix):
                self._post(self._feed(reconciler, objects))
        else:
            held: list[str] = []  # until there are enough sub-folders to know they need no more splitting
            seen = 0
            for page in self._lister.folder(self._bucket, shard.prefix):
                held += page.folders
                seen += len(page.folders)
                if seen >= self._plan.workers:
                    self._spawn(held, shard.depth + 1, seen)
                    held = []
                self._post(self._feed(reconciler, page.objects))
            self._spawn(held, shard.depth + 1, seen)
        self._post(Batch(0, reconciler.finish()))

    def _spawn(self, folders: list[str], depth: int, siblings: int) -> None:
        for child in self._plan.children(folders, depth, siblings):
            self._post(child)

    def _feed(self, reconciler: Reconciler, objects: Sequence[ListedObject]) -> Batch:
        if self._stop.is_set():
            raise _Stopped
        return Batch(len(objects), reconciler.feed_page(objects))
