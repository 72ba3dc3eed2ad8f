"""Reading manifests for the verdicts a listing cannot give: content validation and the checksum.

A listing says a manifest is there; only its bytes say whether it is valid. The sweep, the event
path, `check` and `restore-candidate` all go through `ManifestInspector`, so they judge a manifest
the same way. The sweep reads many, so `InOrder` runs them on a bounded number of workers and hands
results back in the reconciler's order, never holding more than its window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

from ..core.objects import ListedObject
from ..core.rules import MANIFEST
from ..core.verdicts import Checksum, Orphan, Outcome, Policy, RuleVerdict, TarballVerdict, Verdict
from ..ports import ManifestStore, Parallel
from .manifest import MAX_MANIFEST_BYTES, InvalidManifestError, Manifest, cross_check, parse_manifest

T = TypeVar("T")


@dataclass(frozen=True)
class Inspected:
    """A tarball's verdict after its manifest was read; `manifest` is set only when it is valid."""

    verdict: TarballVerdict
    manifest: Manifest | None = None


@dataclass(frozen=True)
class ManifestInspector:
    store: ManifestStore

    def needs_reading(self, outcome: Outcome) -> bool:
        return _manifest_to_read(outcome) is not None

    def inspect(self, bucket: str, verdict: TarballVerdict, policy: Policy, now: datetime) -> Inspected:
        """Judge the tarball again with what its manifest says; a read that fails raises, never judges."""
        listed = _manifest_to_read(verdict)
        if listed is None:
            return Inspected(verdict)
        key, tarball = listed.key, verdict.tarball
        if listed.size > MAX_MANIFEST_BYTES:
            reason = f"{listed.size} bytes, larger than the {MAX_MANIFEST_BYTES}-byte cap"
            return Inspected(_again(policy, verdict, now, invalid={key: reason}))
        body = self.store.read_manifest(bucket, key, MAX_MANIFEST_BYTES)
        if body is None:  # deleted since it was listed: judged as S3 now has it, absent
            return Inspected(_again(policy, verdict, now, gone=key))
        try:
            manifest = parse_manifest(body, key, tarball.key)
            stored = self.store.stored_checksum(bucket, tarball.key) if manifest.sha256 else None
            checksum, why = cross_check(manifest, stored)
        except InvalidManifestError as e:
            return Inspected(_again(policy, verdict, now, invalid={key: str(e)}))
        reason = f"manifest valid; checksum {checksum.value}: {why}"
        return Inspected(_valid(verdict, key, checksum, reason), manifest)


def _again(
    policy: Policy,
    verdict: TarballVerdict,
    now: datetime,
    invalid: Mapping[str, str] | None = None,
    gone: str | None = None,
) -> TarballVerdict:
    """The tarball judged again with the rules and sibling keys it was listed with, and what the
    manifest read changed: its content is invalid, or it is gone."""
    siblings = verdict.siblings
    if gone is not None:
        del siblings[gone]
    rules = [r.rule for r in verdict.results]
    keys = [r.sibling_key for r in verdict.results]
    return policy.judge_listed(verdict.tarball, rules, keys, siblings, now, invalid)


def _valid(verdict: TarballVerdict, key: str, checksum: Checksum, reason: str) -> TarballVerdict:
    """A valid manifest changes nothing but its own rule's reason and checksum: no need to judge again."""

    def update(r: RuleVerdict) -> RuleVerdict:
        if r.sibling_key == key and r.verdict is Verdict.OK:
            return replace(r, reason=reason, checksum=checksum)
        return r

    return replace(verdict, results=tuple(update(r) for r in verdict.results))


def _manifest_to_read(outcome: Outcome) -> ListedObject | None:
    """Only a manifest the listing found usable is read: missing, small or stale ones already fail."""
    if not isinstance(outcome, TarballVerdict):
        return None
    result = outcome.result_of(MANIFEST)
    if result is None or result.sibling is None or result.verdict is not Verdict.OK:
        return None
    return result.sibling


def _ready(value: T) -> Callable[[], T]:
    return lambda: value


class InOrder(Generic[T]):
    """At most `window` results outstanding, handed back in the order they were pushed.

    The window bounds both the requests in flight and the memory held: one outcome (and, while its
    read runs, one manifest body of at most MAX_MANIFEST_BYTES) per slot.
    """

    def __init__(self, parallel: Parallel, window: int) -> None:
        if window < 1:
            raise ValueError("the window must hold at least one result")
        self._parallel = parallel
        self._window = window
        self._waiting: deque[Callable[[], T]] = deque()

    def add(self, value: T) -> list[T]:
        """Queue a result that is already there; returns the results that left the window."""
        done = self._make_room()
        self._waiting.append(_ready(value))
        return done

    def start(self, work: Callable[[], T]) -> list[T]:
        """Run `work` on a worker once there is room; returns the results that left the window."""
        done = self._make_room()
        self._waiting.append(self._parallel.submit(work))
        return done

    def _make_room(self) -> list[T]:
        done = []
        while len(self._waiting) >= self._window:
            done.append(self._waiting.popleft()())
        return done

    def drain(self) -> list[T]:
        done = []
        while self._waiting:
            done.append(self._waiting.popleft()())
        return done


@dataclass(frozen=True)
class ManifestReads:
    """Manifest inspection on a pool of workers, for a stream of outcomes (the sweep, a restore search)."""

    inspector: ManifestInspector
    parallel: Parallel
    window: int = 64

    def stage(self, bucket: str, policy: Policy, now: datetime) -> ManifestStage:
        return ManifestStage(self, bucket, policy, now)


Staged = Inspected | Orphan


class ManifestStage:
    """Outcomes in, inspected verdicts (and orphans as they were) out, in the same order."""

    def __init__(self, reads: ManifestReads, bucket: str, policy: Policy, now: datetime) -> None:
        self._inspect = partial(reads.inspector.inspect, bucket, policy=policy, now=now)
        self._needs_reading = reads.inspector.needs_reading
        self._queue: InOrder[Staged] = InOrder(reads.parallel, reads.window)

    def push(self, outcomes: Iterable[Outcome]) -> list[Staged]:
        done: list[Staged] = []
        for outcome in outcomes:
            if isinstance(outcome, Orphan):
                done += self._queue.add(outcome)
            elif self._needs_reading(outcome):
                done += self._queue.start(partial(self._inspect, outcome))
            else:
                done += self._queue.add(Inspected(outcome))
        return done

    def drain(self) -> list[Staged]:
        return self._queue.drain()
