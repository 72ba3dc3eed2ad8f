"""A sweep over a prefix and a check of one tarball, written against ports so any lister fits."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..errors import ConfigError, ObjectNotFoundError
from .inspection import Inspected, ManifestReads, ManifestStage
from .objects import ListedObject
from .reconcile import Reconciler
from .report import Report
from .verdicts import Outcome, Policy, TarballVerdict, fits_in_s3


class Lister(Protocol):
    """Lists a prefix as pages of objects in S3 key order."""

    def pages(self, bucket: str, prefix: str) -> Iterator[Sequence[ListedObject]]: ...


class ObjectStore(Protocol):
    """Reads one object's metadata; None means S3 said the key does not exist (a 404)."""

    def head(self, bucket: str, key: str) -> ListedObject | None: ...


def as_folder(prefix: str) -> str:
    """Prefixes are folders: `backups` means `backups/`, so `backups-old/` stays outside."""
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


Progress = Callable[[int, Report], None]


@dataclass(frozen=True)
class Sweep:
    lister: Lister
    policy: Policy
    threshold: int
    group_depth: int
    clock: Callable[[], datetime]
    manifests: ManifestReads | None = None  # None: no manifest is read (no manifest rule in force)

    def run(self, bucket: str, prefix: str, progress: Progress | None = None) -> Report:
        """Reconcile everything under the prefix; an error from the lister ends the sweep unreported."""
        started = self.clock()
        report = Report(bucket, prefix, self.threshold, self.group_depth, started_at=started)
        reconciler = Reconciler(self.policy, started)
        stage = self.manifests.stage(bucket, self.policy, started) if self.manifests else None
        for page_number, page in enumerate(self.lister.pages(bucket, prefix), start=1):
            for obj in page:
                for outcome in _inspected(stage, reconciler.feed(obj)):
                    report.add(outcome)
            if progress is not None:
                report.objects_listed = reconciler.objects_seen
                progress(page_number, report)
        for outcome in _inspected(stage, reconciler.finish(), last=True):
            report.add(outcome)
        report.objects_listed = reconciler.objects_seen
        report.duration_s = (self.clock() - started).total_seconds()
        return report


def _inspected(stage: ManifestStage | None, outcomes: list[Outcome], last: bool = False) -> list[Outcome]:
    """Outcomes with their manifests read, in the order they came; the last call drains the stage."""
    if stage is None:
        return outcomes
    done = stage.push(outcomes) + (stage.drain() if last else [])
    return [d.verdict if isinstance(d, Inspected) else d for d in done]


def find_siblings(
    store: ObjectStore, bucket: str, policy: Policy, tarball_key: str
) -> Mapping[str, ListedObject]:
    found = {}
    for key in policy.sibling_keys(tarball_key):
        obj = store.head(bucket, key) if fits_in_s3(key) else None
        if obj is not None:
            found[key] = obj
    return found


def check_tarball(store: ObjectStore, bucket: str, key: str, policy: Policy, now: datetime) -> TarballVerdict:
    """The verdict for one tarball, read with HEAD requests (no listing needed)."""
    if not policy.naming.is_tarball(key):
        raise ConfigError(f"{key!r} is not a tarball (its name has none of the tarball extensions)")
    tarball = store.head(bucket, key)
    if tarball is None:
        raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist (no such key or no such bucket)")
    return policy.judge(tarball, find_siblings(store, bucket, policy, key), now)
