"""A sweep over a prefix and a check of one tarball, written against ports so any lister fits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..errors import ConfigError, ObjectNotFoundError
from .objects import ListedObject
from .reconcile import Reconciler
from .report import Report
from .shards import Lister, Plan, ShardedListing
from .verdicts import Policy, TarballVerdict, fits_in_s3


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
    concurrency: int = 1

    def run(self, bucket: str, prefix: str, progress: Progress | None = None) -> Report:
        """Reconcile everything under the prefix; an error from any shard ends the sweep unreported.

        With `concurrency` 1 the prefix is one flat listing; above it, folder shards are listed
        and reconciled on that many threads (see `shards.py`).
        """
        started = self.clock()
        report = Report(bucket, prefix, self.threshold, self.group_depth, started_at=started)
        listing = ShardedListing(
            self.lister,
            bucket,
            prefix,
            Plan(self.group_depth, self.concurrency),
            lambda: Reconciler(self.policy, started),
        )
        pages = 0
        with closing(listing.batches()) as batches:
            for batch in batches:
                for outcome in batch.outcomes:
                    report.add(outcome)
                report.objects_listed += batch.objects
                if batch.objects:
                    pages += 1
                    if progress is not None:
                        progress(pages, report)
        report.duration_s = (self.clock() - started).total_seconds()
        return report


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
