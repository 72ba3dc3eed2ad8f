"""A sweep over a prefix and a check of one tarball, written against ports so any lister fits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..errors import ConfigError, ObjectNotFoundError
from .objects import ListedObject
from .reconcile import Reconciler
from .report import Report
from .verdicts import Policy, TarballVerdict, fits_in_s3


class Lister(Protocol):
    """Lists a prefix as pages of objects in S3 key order."""

    def pages(self, bucket: str, prefix: str) -> Iterator[Sequence[ListedObject]]: ...


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

    def run(self, bucket: str, prefix: str, progress: Progress | None = None) -> Report:
        """Reconcile everything under the prefix; an error from the lister ends the sweep unreported."""
        started = self.clock()
        report = Report(bucket, prefix, self.threshold, self.group_depth, started_at=started)
        reconciler = Reconciler(self.policy, started)
        for page_number, page in enumerate(self.lister.pages(bucket, prefix), start=1):
            for obj in page:
                for outcome in reconciler.feed(obj):
                    report.add(outcome)
            if progress is not None:
                report.objects_listed = reconciler.objects_seen
                progress(page_number, report)
        for outcome in reconciler.finish():
            report.add(outcome)
        report.objects_listed = reconciler.objects_seen
        report.duration_s = (self.clock() - started).total_seconds()
        return report


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
