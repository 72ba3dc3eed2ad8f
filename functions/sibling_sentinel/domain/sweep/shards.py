"""Listing a prefix as key-range shards, many at once, each range reconciled on its own.

A shard is a `KeyRange` of the prefix, listed flat: `StartAfter` its lower bound, stopped at the first
key past its upper bound. The ranges of a sweep are cut from the whole prefix, so together they hold
every key under it exactly once, by construction. Delimiter listings (`Delimiter="/"`) only *choose*
the cut points: a shard with a `folder` is first split at that folder's sub-folders, and each piece
becomes a shard of its own. A server that leaves a CommonPrefix out (some do, for a folder that holds
only sub-folders) or gives a wrong one makes a piece larger or smaller; it never makes a key disappear
or count twice, because the pieces' ranges still meet end to end. Pages themselves are checked, never
trusted (`listing.py`).

Which folders are split: those above the group depth always; at the group depth and up to
`EXTRA_DEPTH` levels below it, a folder whose parent has fewer sub-folders than there are workers,
so the workers stay busy. A probe (the delimiter listing of a folder) stops looking for cut points
after `PROBE_KEYS` of the folder's own keys, so a huge flat folder is listed about once, not twice.

A cut can fall between a tarball and its sibling (`Reconciler`'s edges): each range settles those
with one targeted lookup, so the report is exactly one flat listing's whatever the cut points.
`run_shards` decides what runs; a `ShardRunner` runs it, on threads here (`ShardThreads`) or on the
CLI's worker processes (`cli/processes.py`). On threads a sweep can pause: each range stops between
pages and hands back where it was (`Paused`), and `run_shards` gives back every range still to do.

Memory is bounded by the pool, not the bucket: each running shard holds one page and its
reconciler's open entries; the queue to the consumer holds at most `2 * workers` batches of one
page's outcomes; shards not yet started are a few strings each (one per folder at the group depth).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from ..core.listing import KeyRange
from ..core.objects import ListedObject, ListedPage
from ..core.tarballs import TarballNaming
from ..core.verdicts import OkTarballs, Outcome, Policy
from ..ports import FolderLister, Lister
from .reconcile import Reconciler
from .report import Tally

EXTRA_DEPTH = 2
PROBE_KEYS = 5000
_POLL_S = 0.05


@dataclass(frozen=True)
class Shard:
    """The keys of `keys` under `prefix`; with `folder`, first split at that folder's sub-folders.

    `resume` is a paused range's place: the last key it fed and its reconciler's open state.
    """

    prefix: str
    keys: KeyRange = KeyRange()  # noqa: RUF009 (frozen, so one shared default is safe)
    depth: int = 0
    folder: str | None = None
    resume: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "keys": self.keys.to_list(),
            "depth": self.depth,
            "folder": self.folder,
            "resume": self.resume,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Shard:
        return cls(d["prefix"], KeyRange(*d["keys"]), d["depth"], d["folder"], d["resume"])


@dataclass(frozen=True)
class Batch:
    """What one page of one shard gave: how many objects it listed, the outcomes now final, and the ok
    tarballs its reconciler's fast path counted instead (`Report.add_ok`)."""

    objects: int
    outcomes: list[Outcome] = field(default_factory=list)
    ok: list[OkTarballs] = field(default_factory=list)


@dataclass(frozen=True)
class Paused:
    """A range stopped between pages because the sweep is pausing; `shard` carries on from there."""

    shard: Shard


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
        split = self.workers > 1 and self._split(0, 1)
        return Shard(prefix, KeyRange(), 0, prefix if split else None)

    def pieces(self, shard: Shard, start: str, cuts: Sequence[str], siblings: int, last: bool) -> list[Shard]:
        """The pieces of `shard` from `start` on, cut at `cuts` (sub-folders of its folder, ascending).

        A piece that starts at a sub-folder holds it, and is split again at that sub-folder's own
        sub-folders when the plan says so; the piece before the first sub-folder holds only the folder's
        own keys. Pieces inside the folder list under it; the last piece, made only with `last`, lists
        under the shard's prefix, because its range runs on to the shard's end, past the folder.
        """
        assert shard.folder is not None
        bounds: list[str | None] = [start, *cuts]
        if last:
            bounds.append(shard.keys.upto)
        depth = shard.depth + 1
        split = self._split(depth, siblings)
        out = []
        for n in range(len(bounds) - 1):
            lo, hi = bounds[n], bounds[n + 1]
            assert lo is not None
            final = last and n == len(bounds) - 2
            at_folder = lo != shard.keys.after and split
            out.append(
                Shard(
                    shard.prefix if final else shard.folder,
                    KeyRange(lo, hi),
                    depth,
                    lo if at_folder else None,
                )
            )
        return out

    def _split(self, depth: int, siblings: int) -> bool:
        if depth < self.group_depth:
            return True
        return depth < self.group_depth + EXTRA_DEPTH and siblings < self.workers


class ShardRunner(Protocol):
    """Runs up to `slots` shards at once and hands back what they give, in order within each shard.

    `ShardThreads` runs them on this process's threads and hands back `Batch`es of outcomes; the CLI's
    worker processes (`cli/processes.py`) hand back `Tally`s, shares of the report built where the
    outcomes were, because outcomes cost more to send between processes than to count.
    """

    @property
    def slots(self) -> int: ...

    def start(self, shard: Shard) -> None: ...

    def next(self) -> Batch | Tally | Shard | Paused | Done: ...

    def pause(self) -> None: ...

    def close(self) -> None: ...


def run_shards(
    roots: Iterable[Shard],
    runner: ShardRunner,
    stopping: Callable[[], bool] | None = None,
    left: list[Shard] | None = None,
) -> Iterator[Batch | Tally]:
    """Starts shards as slots free up, new shards as probes cut them; any shard's error ends it all.

    When `stopping` says so, no shard starts any more, running ranges pause between pages, and every
    range not finished (paused, cut but not started) goes into `left`, for a later sweep to carry on.
    The runner belongs to the caller, who closes it (`contextlib.closing`) so that no worker outlives
    the sweep, however it ends.
    """
    pending = deque(roots)
    running = 0
    pausing = False
    while running or (pending and not pausing):
        while not pausing and pending and running < runner.slots:
            runner.start(pending.popleft())
            running += 1
        item = runner.next()
        # asked after each item, so every invocation of a paused sweep moves it on (a range pauses only
        # after a page)
        if not pausing and stopping is not None and stopping():
            pausing = True
            runner.pause()
        if isinstance(item, Shard):
            pending.append(item)
        elif isinstance(item, Paused):
            pending.append(item.shard)
        elif isinstance(item, Done):
            running -= 1
            if item.error is not None:
                raise item.error
        else:
            yield item
    if left is not None:
        left.extend(pending)


@dataclass(frozen=True)
class ListedLookup:
    """The `EdgeLookup` of a range: small listings just outside it, through the sweep's own lister."""

    lister: Lister
    bucket: str
    naming: TarballNaming

    def find(self, keys: Iterable[str]) -> dict[str, ListedObject]:
        return find_listed(self.lister, self.bucket, keys)

    def has_tarball_with_stem(self, stem: str) -> bool:
        last = self.naming.last_key_for_stem(stem)
        pages = self.lister.pages(self.bucket, stem)
        try:
            for page in pages:
                for o in page:
                    if o.key > last:
                        return False
                    if self.naming.extension_of(o.key) is not None and self.naming.stem(o.key) == stem:
                        return True
        finally:
            pages.close()
        return False


def list_shard(
    lister: FolderLister,
    bucket: str,
    shard: Shard,
    plan: Plan,
    policy: Policy,
    now: datetime,
    post: Callable[[Batch | Shard | Paused], None],
    paused: Callable[[], bool] = lambda: False,
) -> None:
    """One shard: a probe that cuts it into pieces, or a range listed page by page."""
    if shard.folder is not None:
        probe(lister, bucket, shard, plan, post)
        return
    lookup = ListedLookup(lister, bucket, policy.naming)
    if shard.resume is not None:
        engine = Reconciler.resumed(policy, now, shard.resume["reconciler"], tally=True)
        start = shard.resume["reconciler"]["last_key"] or shard.keys.after
    else:
        engine, start = Reconciler(policy, now, shard.keys, tally=True), shard.keys.after
    upto = shard.keys.upto
    pages = lister.pages(bucket, shard.prefix, start)
    try:
        for page in pages:
            inside = page
            if upto is not None and page and page[-1].key > upto:
                inside = _upto(page, upto)
            outcomes = engine.feed_page(inside) + engine.settle(lookup)
            post(Batch(len(inside), outcomes, engine.take_ok()))
            if len(inside) < len(page):
                break
            if paused():
                post(Paused(replace(shard, resume={"reconciler": engine.state()})))
                return
    finally:
        pages.close()
    post(Batch(0, engine.finish() + engine.settle(lookup)))


def _upto(page: Sequence[ListedObject], last: str) -> Sequence[ListedObject]:
    if isinstance(page, ListedPage):
        return page.upto(last)
    return [o for o in page if o.key <= last]


def probe(lister: FolderLister, bucket: str, shard: Shard, plan: Plan, post: Callable[[Shard], None]) -> None:
    """The folder's sub-folders inside the shard's range, as cut points; the pieces as new shards.

    Pieces are made as soon as there are as many sub-folders as workers (then no more splitting is
    needed to keep them busy, whatever follows). Cut points must ascend inside the range; any other (a
    server's repeat or mistake) is passed over, which can only make a piece larger.
    """
    assert shard.folder is not None
    keys = shard.keys
    start, cuts = keys.after, list[str]()
    seen = own_keys = 0
    for page in lister.folder(bucket, shard.folder):
        for name in page.folders:
            if keys.holds(name) and name != keys.upto and name > (cuts[-1] if cuts else start):
                cuts.append(name)
                seen += 1
        own_keys += len(page.objects)
        if seen >= plan.workers and len(cuts) > 1:
            for piece in plan.pieces(shard, start, cuts[:-1], seen, last=False):
                post(piece)
            start, cuts = cuts[-2], cuts[-1:]
        if own_keys >= PROBE_KEYS:
            break
    for piece in plan.pieces(shard, start, cuts, seen, last=True):
        post(piece)


class ShardThreads:
    """Shards on `plan.workers` daemon threads of this process; the consumer gets their outcomes as they are.

    Daemon threads, not an executor's: a thread stuck in a stalled request (which the SDK may retry for
    minutes) must not hold up a Ctrl-C or a failed sweep. `close` stops every thread at its next page
    and waits `stop_wait_s` for them; one still inside a request then ends at its next step, and
    never reports again.
    """

    def __init__(
        self,
        lister: FolderLister,
        bucket: str,
        plan: Plan,
        policy: Policy,
        now: datetime,
        stop_wait_s: float = 1.0,
    ) -> None:
        self._lister = lister
        self._bucket = bucket
        self._plan = plan
        self._policy = policy
        self._now = now
        self._stop_wait_s = stop_wait_s
        self._results: queue.Queue[Batch | Shard | Paused | Done] = queue.Queue(maxsize=2 * plan.workers)
        self._work: queue.Queue[Shard | None] = queue.Queue()
        self._stop = threading.Event()
        self._pausing = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def slots(self) -> int:
        return self._plan.workers

    def start(self, shard: Shard) -> None:
        if len(self._threads) < self._plan.workers:
            thread = threading.Thread(
                target=self._serve, name=f"sweep-shard-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        self._work.put(shard)

    def next(self) -> Batch | Shard | Paused | Done:
        return self._results.get()

    def pause(self) -> None:
        self._pausing.set()

    def close(self) -> None:
        self._stop.set()
        for _ in self._threads:
            self._work.put(None)
        deadline = time.monotonic() + self._stop_wait_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _post(self, item: Batch | Shard | Paused | Done) -> None:
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                self._results.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _serve(self) -> None:
        while (shard := self._work.get()) is not None and not self._stop.is_set():
            error: BaseException | None = None
            try:
                list_shard(
                    self._lister,
                    self._bucket,
                    shard,
                    self._plan,
                    self._policy,
                    self._now,
                    self._post,
                    self._pausing.is_set,
                )
            except _Stopped:
                return
            except BaseException as e:  # any failure fails the sweep, in the consumer's thread
                error = e
            try:
                self._post(Done(error))
            except _Stopped:
                return


def find_listed(lister: Lister, bucket: str, keys: Iterable[str]) -> dict[str, ListedObject]:
    """The objects among `keys` that exist, from one small listing of their common prefix.

    A listing answers "absent" with certainty where a HEAD on a missing key answers 403 to a role that
    may list only under a prefix; and it costs one request for a tarball and all its siblings.
    """
    wanted = set(keys)
    if not wanted:
        return {}
    last = max(wanted)
    found: dict[str, ListedObject] = {}
    common = os.path.commonprefix(list(wanted))  # noqa: RUF071 (an S3 prefix is character-wise)
    pages = lister.pages(bucket, common)
    try:
        for page in pages:
            found.update((o.key, o) for o in page if o.key in wanted)
            if not page or page[-1].key >= last:
                break
    finally:
        pages.close()
    return found
