"""One tarball judged from one small listing, its manifest read where the rule is on.

The event path, `check`, `verify` and a restore's final check all judge a single tarball this way,
instead of sweeping its folder. It lives with the manifests because a full judgement includes one.
"""

from __future__ import annotations

from datetime import datetime

from ...errors import ConfigError, ObjectNotFoundError
from ..core.verdicts import Policy, TarballVerdict, fits_in_s3
from ..ports import ObjectStore
from .inspection import ManifestInspector


def judge_one(
    store: ObjectStore,
    bucket: str,
    policy: Policy,
    tarball_key: str,
    now: datetime,
    manifests: ManifestInspector | None = None,
) -> TarballVerdict | None:
    """One tarball judged from one small listing (and its manifest read, where the rule is on).

    None when the tarball is not there. Keys longer than S3 allows cannot exist, so are not asked.
    """
    keys = [k for k in (tarball_key, *policy.sibling_keys(tarball_key)) if fits_in_s3(k)]
    found = dict(store.find(bucket, keys))
    tarball = found.pop(tarball_key, None)
    if tarball is None:
        return None
    verdict = policy.judge(tarball, found, now)
    return verdict if manifests is None else manifests.inspect(bucket, verdict, policy, now).verdict


def check_tarball(
    store: ObjectStore,
    bucket: str,
    key: str,
    policy: Policy,
    now: datetime,
    manifests: ManifestInspector | None = None,
) -> TarballVerdict:
    """The verdict for one tarball, from one small listing instead of a whole sweep."""
    if not policy.naming.is_tarball(key):
        raise ConfigError(f"{key!r} is not a tarball (its name has none of the tarball extensions)")
    verdict = judge_one(store, bucket, policy, key, now, manifests)
    if verdict is None:
        raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist")
    return verdict
