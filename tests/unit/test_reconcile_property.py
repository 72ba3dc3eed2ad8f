"""Streaming reconciliation must agree with a brute-force oracle that holds every key in a dict."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.core.rules import Anchor, listing_rule, manifest_rule
from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.core.verdicts import Orphan, Policy, TarballVerdict
from sibling_sentinel.domain.sweep.reconcile import reconcile

from fakes import NOW, obj

NAMING = TarballNaming()
POLICIES = [
    Policy(NAMING, (listing_rule(min_bytes=64, stale_tolerance_s=3600),), grace_s=7200),
    Policy(NAMING, (listing_rule(), manifest_rule(required=True)), grace_s=0),
    Policy(NAMING, (listing_rule(), manifest_rule(required=False)), grace_s=7200),
]

# Few folders and stems, many endings: related keys (tarball, listing, manifest, look-alikes) collide often.
folders = st.sampled_from(["", "h/", "h/x.tar-1/", "é b/"])
stems = st.sampled_from(["x", "s", "a+b %2B", "x.tar"])
endings = st.sampled_from(
    [
        "",
        ".tar",
        ".tar.list.txt",
        ".tgz",
        ".tgz.list.txt",
        ".manifest.json",
        ".tar.gz",
        ".tar.gz.list.txt",
        ".TAR",
        ".TAR.list.txt",
        ".tar-1/y.tar",
        ".tar-1/y.tar.list.txt",
        ".tar.d/n",
        ".tar.sha256",
        ".list.txt",
        ".tar.zst",
        ".a",
    ]
)
keys = st.builds(lambda f, s, e: "p/" + f + s + e, folders, stems, endings)
objects = st.builds(
    lambda k, size, age: obj(k, size=size, age_s=age),
    keys,
    st.sampled_from([0, 10, 64, 500]),
    st.sampled_from([0, 600, 7000, 7300, 86400, 3 * 86400]),
)


def oracle(listed: Sequence[ListedObject], policy: Policy) -> tuple[dict[str, TarballVerdict], set[str]]:
    by_key = {o.key: o for o in listed}
    tarballs = {
        o.key: policy.judge(o, {k: by_key[k] for k in policy.sibling_keys(o.key) if k in by_key}, NOW)
        for o in listed
        if NAMING.is_tarball(o.key)
    }
    orphans = set()
    for o in listed:
        for rule in policy.rules:
            base = rule.base_of(o.key)
            if base is None or (rule.anchor is Anchor.KEY and not NAMING.is_tarball(base)):
                continue
            if rule.anchor is Anchor.KEY:
                owned = base in by_key
            else:
                owned = any(NAMING.is_tarball(k) and NAMING.stem(k) == base for k in by_key)
            if not owned:
                orphans.add(o.key)
    return tarballs, orphans


@settings(max_examples=400, deadline=None)
@given(
    listed=st.lists(objects, max_size=40, unique_by=lambda o: o.key),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=6),
    policy=st.sampled_from(POLICIES),
)
def test_streaming_matches_the_oracle_for_any_keys_and_any_pages(
    listed: list[ListedObject], cuts: list[int], policy: Policy
) -> None:
    # given random keys in S3 order, split into pages at random points
    ordered = sorted(listed, key=lambda o: o.key)
    bounds = [0, *sorted(min(c, len(ordered)) for c in cuts), len(ordered)]
    pages = [ordered[a:b] for a, b in itertools.pairwise(bounds)]
    # when they are reconciled as a stream
    outcomes = list(reconcile(pages, policy, NOW))
    # then every tarball and every orphan is exactly what the brute-force oracle says
    want_tarballs, want_orphans = oracle(ordered, policy)
    got_tarballs = {o.tarball.key: o for o in outcomes if isinstance(o, TarballVerdict)}
    got_orphans = [o.sibling.key for o in outcomes if isinstance(o, Orphan)]
    assert got_tarballs == want_tarballs
    assert sorted(got_orphans) == sorted(want_orphans)
    assert len(got_orphans) == len(set(got_orphans))
