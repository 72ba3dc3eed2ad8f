"""The sweep's fast path (columns in, ok tarballs counted without verdicts) reports exactly what judging
each tarball on its own reports: against an independent reference, on awkward keys and every verdict."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reconcile_property import NAMING, POLICIES, objects

from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.listing import KeyRange
from sibling_sentinel.domain.core.objects import ListedObject, ListedPage
from sibling_sentinel.domain.core.rules import Anchor, SiblingRule, listing_rule
from sibling_sentinel.domain.core.verdicts import OkTarballs, Orphan, Outcome, Policy, TarballVerdict, Verdict
from sibling_sentinel.domain.manifests.inspection import ManifestInspector, ManifestReads
from sibling_sentinel.domain.sweep.reconcile import OutOfOrderError, Reconciler
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.domain.sweep.sweep import Sweep

from fakes import NOW, FakeBucket, FakeClock, SerialPool, essence, manifest_body, obj

# the manifest is optional everywhere (so the fast path must see it absent) and required under corpus/
CONFIG = Config(manifest_rule="optional", manifest_rules=("backups/corpus/=required",))
ODD_FOLDERS = ["host a+b", "100%", "résumé-日本", "x&<y>'\"", "corpus", "deep/2026/01", "p" * 300]


def awkward_bucket(seed: int, page_size: int) -> FakeBucket:
    """Hosts with odd names, tarballs of every verdict, look-alikes and orphans, in random proportions."""
    rng = random.Random(seed)
    bucket = FakeBucket(page_size=page_size)
    add = bucket.objects.__setitem__

    def put(key: str, size: int = 1000, age_s: int = 86400) -> None:
        add(key, obj(key, size=size, age_s=age_s))

    put("backups/loose.tar")
    put("backups/loose.tar.list.txt")
    put("backups/README.txt")
    for folder in ODD_FOLDERS:
        for n in range(rng.randrange(15, 40)):
            stem = f"backups/{folder}/{n:03d} snap+{rng.choice(['', '%20', ' ', 'ü'])}"
            extension = rng.choice([".tar.zst", ".tgz", ".TAR", ".tar", ".tzst"])
            tarball, age = stem + extension, rng.choice([600, 86400, 5 * 86400, 40 * 86400])
            kind = rng.choices(
                ["ok", "missing", "undersized", "stale", "manifest", "bad manifest", "long"],
                [70, 6, 4, 4, 6, 4, 2],
            )[0]
            if kind == "long":
                tarball = stem + "l" * (1020 - len(stem.encode())) + ".tar"
            put(tarball, age_s=age)
            listing_age = age - 60 if rng.random() < 0.8 else age + rng.choice([30, 7200])
            if kind in ("ok", "manifest", "bad manifest", "stale"):
                put(tarball + ".list.txt", age_s=age + 7200 if kind == "stale" else listing_age)
            elif kind == "undersized":
                put(tarball + ".list.txt", size=10, age_s=age - 60)
            if kind in ("manifest", "bad manifest"):
                name = tarball.rpartition("/")[2]
                body = manifest_body(name if kind == "manifest" else "elsewhere.tgz")
                bucket.put(stem + ".manifest.json", body, age_s=age)
            if rng.random() < 0.1:
                put(tarball + ".sha256")
            if rng.random() < 0.05:
                put(tarball + ".d/notes.list.txt")
        put(f"backups/{folder}/gone.tar.list.txt")
        put(f"backups/{folder}/gone.manifest.json")
        put(f"backups/{folder}/notes.list.txt")
    return bucket


def reference(bucket: FakeBucket, policy: Policy, like: Report) -> Report:
    """The report of judging every tarball with `Policy.judge` over a dict of the flat listing."""
    listed = bucket.objects
    inspector = ManifestInspector(bucket)
    report = Report(like.bucket, like.prefix, like.threshold, like.group_depth, started_at=like.started_at)
    naming = policy.naming
    for key in sorted(listed):
        o = listed[key]
        if naming.is_tarball(key):
            found = {k: listed[k] for k in policy.sibling_keys(key) if k in listed}
            report.add(inspector.inspect("b", policy.judge(o, found, NOW), policy, NOW).verdict)
        for rule in policy.rules_at(key):
            base = rule.base_of(key)
            if base is None:
                continue
            if rule.anchor is Anchor.KEY:
                if naming.is_tarball(base) and base not in listed:
                    report.add(Orphan(o, rule, base))
            elif not any(naming.is_tarball(k) and naming.stem(k) == base for k in listed):
                report.add(Orphan(o, rule, base + ".*"))
    report.objects_listed = len(listed)
    report.duration_s = like.duration_s
    return report


def swept(bucket: FakeBucket, concurrency: int) -> Report:
    policy = CONFIG.policy()
    reads = ManifestReads(ManifestInspector(bucket), SerialPool(), 4)
    return Sweep(bucket, policy, 0, 1, FakeClock(), reads, concurrency=concurrency).run("b", "backups/")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("concurrency", "page_size"), [(1, 7), (1, 1000), (4, 5), (4, 1000)])
def test_the_sweep_reports_what_judging_each_tarball_alone_reports(
    seed: int, concurrency: int, page_size: int
) -> None:
    # given a bucket of awkward keys with every verdict, listed as columns (as S3Lister lists)
    bucket = awkward_bucket(seed, page_size)

    # when it is swept, and each tarball is judged alone over a dict of the whole listing
    report = swept(bucket, concurrency)
    want = reference(bucket, CONFIG.policy(), report)

    # then the two JSON reports are the same, findings aside from their order, and so are the tarballs
    # kept for the event path's check and the report's checkpoint
    assert essence(report) == essence(want)
    assert sorted(report.recent, key=lambda t: t.key) == sorted(want.recent, key=lambda t: t.key)
    assert report.recent
    assert _checkpoint(report) == _checkpoint(want)
    counts = report.to_counts()
    assert all(counts[v.value] for v in Verdict), counts  # the dataset holds every verdict


def _checkpoint(report: Report) -> dict[str, Any]:
    state = report.state()
    state["recent"] = sorted(state["recent"])
    return state


def test_the_sweep_reports_the_same_from_objects_and_from_columns() -> None:
    # given the same awkward bucket, listed once as objects and once as columns
    objects, columns = awkward_bucket(4, 9), awkward_bucket(4, 9)
    objects.as_columns = False

    # when each is swept
    # then the JSON reports are byte for byte the same
    assert swept(objects, 1).to_json() == swept(columns, 1).to_json()


def pages_of(bucket: FakeBucket) -> list[Sequence[ListedObject]]:
    return list(bucket.pages("b", "backups/"))


def test_most_ok_tarballs_are_counted_without_verdicts() -> None:
    # given the awkward bucket's pages as columns
    bucket = awkward_bucket(5, 1000)
    policy = CONFIG.policy()
    reconciler = Reconciler(policy, NOW, tally=True)

    # when they are reconciled with the fast path on
    outcomes = [o for page in pages_of(bucket) for o in reconciler.feed_page(page)] + reconciler.finish()
    counted = reconciler.take_ok()

    # then most ok tarballs come out as rows (not those whose optional manifest is there, or could be
    # later: `x.TAR` sorts before `x.manifest.json`), and their verdicts are the general path's
    slow = Reconciler(policy, NOW)
    general = [o for page in pages_of(bucket) for o in slow.feed_page(list(page))] + slow.finish()
    fast = [v for run in counted for v in run.verdicts(policy, NOW)]
    ok_general = [o for o in general if o.verdict is Verdict.OK]
    assert len(fast) > len(ok_general) / 2
    assert all(v.verdict is Verdict.OK for v in fast)
    assert sorted(fast + outcomes, key=_key) == sorted(general, key=_key)
    assert reconciler.objects_seen == slow.objects_seen
    assert reconciler.state() == slow.state()


def _key(outcome: Outcome) -> tuple[str, str]:
    if isinstance(outcome, TarballVerdict):
        return outcome.tarball.key, ""
    return outcome.sibling.key, outcome.rule.name


def test_a_page_out_of_order_fails_as_it_does_without_the_fast_path() -> None:
    # given a page of columns whose keys go backwards
    page = ListedPage.of([obj("h/b.tar"), obj("h/b.tar.list.txt"), obj("h/a.tar")])
    assert page is not None

    # when it is fed to a reconciler with the fast path on
    # then it fails at the key out of order
    with pytest.raises(OutOfOrderError, match=r"h/a\.tar"):
        Reconciler(POLICIES[0], NOW, tally=True).feed_page(page)


def test_a_page_with_times_finer_than_a_millisecond_has_no_columns() -> None:
    # given objects whose time has microseconds, or is not in UTC
    fine = obj("a.tar", age_s=0.0001)
    local = ListedObject("b.tar", 1, NOW.astimezone(timezone(timedelta(hours=2))))

    # when they are made into a page
    # then there is none: they stay objects, and the general path judges them
    assert ListedPage.of([fine]) is None
    assert ListedPage.of([local]) is None


# rules whose sibling can itself be a tarball (`x.tar` + `.gz`) or another rule's sibling (`.list.txt`
# ends with `.txt`), and two key-anchored rules at once: the fast path must step aside for each
ODD_POLICIES = [
    Policy(NAMING, (SiblingRule("gz", Anchor.KEY, ".gz", min_bytes=64),), grace_s=7200),
    Policy(
        NAMING,
        (listing_rule(), SiblingRule("text", Anchor.STEM, ".txt", required=False)),
        grace_s=7200,
    ),
    Policy(NAMING, (listing_rule(), SiblingRule("sums", Anchor.KEY, ".sha256", required=False))),
]


def _fed(
    pages: Sequence[Sequence[ListedObject]], policy: Policy, tally: bool, bounds: KeyRange | None
) -> Any:
    reconciler = Reconciler(policy, NOW, bounds, tally=tally)
    outcomes: list[Outcome] = []
    for page in pages:
        outcomes += reconciler.feed_page(page)
    outcomes += reconciler.finish()
    oks = [v for run in reconciler.take_ok() for v in run.verdicts(policy, NOW)]
    return sorted(outcomes + oks, key=_key), reconciler


@settings(max_examples=300, deadline=None)
@given(
    listed=st.lists(objects, max_size=40, unique_by=lambda o: o.key),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=6),
    policy=st.sampled_from([*POLICIES, *ODD_POLICIES]),
    range_cut=st.integers(min_value=0, max_value=40),
)
def test_columns_with_the_fast_path_give_the_general_paths_outcomes_for_any_keys(
    listed: list[ListedObject], cuts: list[int], policy: Policy, range_cut: int
) -> None:
    # given random keys in S3 order, split into pages at random points, and a key range cut among them
    ordered = sorted(listed, key=lambda o: o.key)
    bounds = [0, *sorted(min(c, len(ordered)) for c in cuts), len(ordered)]
    pages = [ordered[a:b] for a, b in itertools.pairwise(bounds)]
    columns = [ListedPage.of(p) for p in pages]
    assert all(c is not None for c in columns)
    after = ordered[min(range_cut, len(ordered) - 1)].key if ordered else ""
    key_range = KeyRange(after, None)

    for cut in (None, key_range):
        inside = [[o for o in p if cut is None or cut.holds(o.key)] for p in pages]
        inside_columns = [ListedPage.of(p) for p in inside]
        # when they are reconciled as objects without the fast path, and as columns with it
        general, slow = _fed(inside, policy, False, cut)
        fast, quick = _fed([c for c in inside_columns if c is not None], policy, True, cut)

        # then the outcomes, the edges held back and the state are the same
        assert fast == general
        assert [vars_of(e) for e in quick._edges] == [vars_of(e) for e in slow._edges]
        assert quick.objects_seen == slow.objects_seen
        if not slow._edges:
            assert quick.state() == slow.state()


def vars_of(edge: object) -> tuple[Any, ...]:
    return tuple(getattr(edge, name) for name in edge.__slots__)  # type: ignore[attr-defined]


def test_a_state_taken_before_the_ok_tarballs_were_taken_is_refused() -> None:
    # given a reconciler whose fast path has counted an ok tarball not yet taken
    page = ListedPage.of([obj("h/a.tar"), obj("h/a.tar.list.txt")])
    assert page is not None
    reconciler = Reconciler(POLICIES[0], NOW, tally=True)
    reconciler.feed_page(page)

    # when its state is asked for
    # then it refuses, since a checkpoint without them would lose the tarball
    with pytest.raises(AssertionError, match="take_ok"):
        reconciler.state()
    assert len(reconciler.take_ok()[0].rows) == 1
    assert reconciler.state()["objects_seen"] == 2


@pytest.mark.parametrize(
    ("policy", "names"),
    [
        (ODD_POLICIES[0], ["x.tar", "x.tar.gz", "x.tar.gz.gz"]),  # the sibling is a tarball too
        (ODD_POLICIES[1], ["x.tar", "x.tar.list.txt"]),  # the listing is a `.txt` rule's sibling too
    ],
)
def test_a_sibling_that_is_also_a_tarball_or_another_rules_sibling_is_judged_as_such(
    policy: Policy, names: list[str]
) -> None:
    # given a tarball followed at once by its sibling, which is also something else
    listed = [obj("h/" + name, size=500) for name in names]
    page = ListedPage.of(listed)
    assert page is not None

    # when it is reconciled with the fast path and without
    # then the outcomes are the same
    assert _fed([page], policy, True, None)[0] == _fed([listed], policy, False, None)[0]


def test_a_page_marked_ascending_is_still_checked_against_the_page_before() -> None:
    # given a page of columns whose keys a lister has checked (ascending), after a page that ended later
    before = ListedPage.of([obj("h/c.tar")])
    page = ListedPage.of([obj("h/a.tar"), obj("h/b.tar")])
    assert before is not None
    assert page is not None
    page.ascending = True
    reconciler = Reconciler(POLICIES[0], NOW, tally=True)
    reconciler.feed_page(before)

    # when it is fed
    # then the reconciler still refuses it: only the order within the page was taken on trust
    with pytest.raises(OutOfOrderError, match=r"h/a\.tar"):
        reconciler.feed_page(page)


def test_a_slice_of_an_ascending_page_stays_ascending_unless_it_is_reversed() -> None:
    # given a page whose keys were checked to ascend
    page = ListedPage.of([obj("a.tar"), obj("b.tar"), obj("c.tar")])
    assert page is not None
    page.ascending = True

    # when it is sliced forwards and backwards
    # then only the forward slices keep the mark (an unmarked page is checked again)
    assert page[1:].ascending
    assert page[::2].ascending
    assert not page[::-1].ascending
    assert not ListedPage.of([obj("a.tar")]).ascending  # type: ignore[union-attr]


@pytest.mark.parametrize("group_depth", [1, 2])
@pytest.mark.parametrize("seed", range(6))
def test_ok_tarballs_counted_by_folder_make_the_report_their_verdicts_make(
    group_depth: int, seed: int
) -> None:
    # given pages of ok tarball rows: loose keys, folders of one host, a sub-folder's rows between its
    # folder's, nights old and recent, and tarballs listed at the very same time
    rng = random.Random(seed)
    names = ["backups/loose.tar", "backups/top level.tar"]
    for folder in (
        "backups/h1/",
        "backups/h1/sub/",
        "backups/h1/sub/deeper/",
        "backups/h2 x+y/",
        "backups/h3/",
    ):
        flat = folder == "backups/h3/"  # one folder of many nights, none of them in a sub-folder
        ends = ["", "b"] if flat else ["", "b", "/x"]
        names += [
            f"{folder}{n:03d}{rng.choice(ends)}.tar" for n in range(150 if flat else rng.randrange(1, 150))
        ]
    names = sorted(set(names))
    # many tarballs at the same few times (ties), and one host with more nights than a group keeps
    ages = [
        rng.randrange(400) * 86400
        if "/h3/" in name
        else rng.choice([3600, 86400, 86400, 3 * 86400, 9 * 86400])
        for name in names
    ]
    objects = []
    for name, age in zip(names, ages, strict=True):  # each tarball followed at once by its listing
        objects += [obj(name, age_s=age), obj(name + ".list.txt", age_s=age - 60)]
    page = ListedPage.of(objects)
    assert page is not None
    assert list(page.keys) == sorted(page.keys)
    rows = sorted(2 * n for n in rng.sample(range(len(names)), rng.randrange(1, len(names) + 1)))
    runs = [OkTarballs(page, rows[: len(rows) // 2]), OkTarballs(page, rows[len(rows) // 2 :])]
    policy = CONFIG.policy()

    # when they are counted from the columns, and (elsewhere) added as the verdicts they stand for
    counted = Report("b", "backups/", 0, group_depth, started_at=NOW)
    counted.add_ok(runs)
    added = Report("b", "backups/", 0, group_depth, started_at=NOW)
    for run in runs:
        for verdict in run.verdicts(policy, NOW):
            added.add(verdict)

    # then the two reports are the same: counts, hosts' newest, nights, and the recent tarballs in order
    assert counted.to_dict() == added.to_dict()
    assert counted.recent == added.recent
    # (a group forgets nights older than its calendar, each path at its own moment: what it shows is compared)
    calendars = {n: g.calendar(NOW.date()) for n, g in added.groups.items()}
    assert {n: g.calendar(NOW.date()) for n, g in counted.groups.items()} == calendars
    newest = {n: (g.newest_tarball, g.newest_complete) for n, g in added.groups.items()}
    assert {n: (g.newest_tarball, g.newest_complete) for n, g in counted.groups.items()} == newest
