"""A sweep over a prefix and a check of one tarball, written against ports so any lister fits."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
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
    """Lists a prefix as pages of objects in S3 key order.

    A generator, so a sweep that stops early can close it and let it release connections and workers.
    """

    def pages(self, bucket: str, prefix: str) -> Generator[Sequence[ListedObject], None, None]: ...


class ObjectStore(Protocol):
    """The objects among `keys` that exist; a key left out was listed as absent, never merely unseen."""

    def find(self, bucket: str, keys: Iterable[str]) -> Mapping[str, ListedObject]: ...


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
    as_of: datetime | None = None  # judge as of this time (an inventory's), not the sweep's start

    def run(
        self,
        bucket: str,
        prefix: str,
        progress: Progress | None = None,
        keep_going: Callable[[], bool] | None = None,
    ) -> Report:
        """Reconcile everything under the prefix; an error from the lister ends the sweep unreported.

        `keep_going` is asked between pages; when it says no, the sweep stops there and the report
        says `complete: false`. Tarballs whose folder was not finished are left out rather than judged
        on a half-read folder, so an incomplete report holds no false "missing".
        """
        started = self.clock()
        now = self.as_of or started
        report = Report(bucket, prefix, self.threshold, self.group_depth, started_at=started)
        reconciler = Reconciler(self.policy, now)
        stage = self.manifests.stage(bucket, self.policy, now) if self.manifests else None
        pages = self.lister.pages(bucket, prefix)
        try:
            for page_number, page in enumerate(pages, start=1):
                for obj in page:
                    for outcome in _inspected(stage, reconciler.feed(obj)):
                        report.add(outcome)
                report.objects_listed = reconciler.objects_seen
                if progress is not None:
                    progress(page_number, report)
                if keep_going is not None and not keep_going():
                    report.complete = False
                    break
        finally:
            pages.close()
        # An incomplete sweep still finishes what the reconciler had already released as final.
        last = reconciler.finish() if report.complete else []
        for outcome in _inspected(stage, last, last=True):
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


def look_up(
    store: ObjectStore, bucket: str, policy: Policy, tarball_key: str
) -> tuple[ListedObject | None, Mapping[str, ListedObject]]:
    """A tarball and its siblings in one read; keys longer than S3 allows cannot exist, so are not asked."""
    keys = [k for k in (tarball_key, *policy.sibling_keys(tarball_key)) if fits_in_s3(k)]
    found = dict(store.find(bucket, keys))
    return found.pop(tarball_key, None), found


def check_tarball(store: ObjectStore, bucket: str, key: str, policy: Policy, now: datetime) -> TarballVerdict:
    """The verdict for one tarball, from one small listing instead of a whole sweep."""
    if not policy.naming.is_tarball(key):
        raise ConfigError(f"{key!r} is not a tarball (its name has none of the tarball extensions)")
    tarball, siblings = look_up(store, bucket, policy, key)
    if tarball is None:
        raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist")
    return policy.judge(tarball, siblings, now)
