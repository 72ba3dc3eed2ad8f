"""Key-range shards: exact at every cut point, whatever the server's folders say."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.listing import KeyRange
from sibling_sentinel.domain.core.objects import FolderPage
from sibling_sentinel.domain.core.verdicts import Policy
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.domain.sweep.shards import Batch, Plan, Shard, list_shard
from sibling_sentinel.domain.sweep.sweep import Sweep

from fakes import NOW, FakeBucket, FakeClock, essence, obj

POLICY = Config(manifest_rule="required").policy()
PREFIX = "backups/"

# Names that sort around a tarball in awkward places: a sub-folder between a tarball and its listing,
# a stem-anchored manifest before its tarball, look-alikes, an orphan of each kind.
NAMES = [
    "x.tar.gz",
    "x.tar.gz.d/notes.txt",
    "x.tar.gz.d/deeper/y.tar",
    "x.tar.gz.list.txt",
    "x.tar-1",
    "snap.manifest.json",
    "snap.tgz",
    "snap.tgz.list.txt",
    "snap.TGZ",
    "lone.manifest.json",
    "gone.tar.list.txt",
    "a b+c.tar.zst",
    "a b+c.tar.zst.list.txt",
    "日本.tar",
    "日本.tar.list.txt",
]
FOLDERS = ["", "h1/", "h1/deep/", "h2/", "h2/x.tar.gz.d/"]


def bucket_of(keys: set[str], tiny: set[str]) -> FakeBucket:
    return FakeBucket([obj(k, size=10 if k in tiny else 1000) for k in keys], page_size=3)


def flat(bucket: FakeBucket) -> Report:
    return Sweep(bucket, POLICY, 0, 1, FakeClock()).run("b", PREFIX)


def swept_in_ranges(bucket: FakeBucket, cuts: list[str], policy: Policy = POLICY) -> Report:
    """Every range between consecutive cut points listed on its own, into one report."""
    bounds: list[str | None] = ["", *sorted(set(cuts)), None]
    report = Report("b", PREFIX, 0, 1, started_at=NOW)
    for lo, hi in pairwise(bounds):
        assert lo is not None

        def post(item: object) -> None:
            assert isinstance(item, Batch)
            report.objects_listed += item.objects
            for outcome in item.outcomes:
                report.add(outcome)

        list_shard(bucket, "b", Shard(PREFIX, KeyRange(lo, hi)), Plan(1, 4), policy, NOW, post)
    return report


keys_strategy = st.sets(
    st.builds(lambda f, n: PREFIX + f + n, st.sampled_from(FOLDERS), st.sampled_from(NAMES)), min_size=1
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=keys_strategy, data=st.data())
def test_any_cut_points_give_exactly_one_flat_listings_report(keys: set[str], data: st.DataObject) -> None:
    # given awkward keys, some listings too small, and cut points anywhere: at keys, inside names, at folders
    tiny = data.draw(st.sets(st.sampled_from(sorted(keys))))
    candidates = sorted(keys | {k[:n] for k in keys for n in range(len(PREFIX), len(k))})
    cuts = data.draw(st.lists(st.sampled_from(candidates), max_size=6))
    bucket = bucket_of(keys, tiny)
    # when each range is swept alone and the results are added up
    ranged = swept_in_ranges(bucket, cuts)
    # then counts, groups and findings are exactly the flat listing's, and no key was counted twice
    whole = flat(bucket)
    ranged.duration_s = whole.duration_s
    assert essence(ranged) == essence(whole)
    assert ranged.objects_listed == len(keys)


def test_a_cut_between_a_tarball_and_its_listing_still_finds_the_listing() -> None:
    # given a tarball, a sub-folder that sorts before its listing, and the listing
    keys = {PREFIX + "h/x.tar.gz", PREFIX + "h/x.tar.gz.d/notes.txt", PREFIX + "h/x.tar.gz.list.txt"}
    bucket = bucket_of(keys, set())
    # when the cut falls inside the sub-folder
    report = swept_in_ranges(bucket, [PREFIX + "h/x.tar.gz.d/"], Config().policy())
    # then the tarball is ok, judged once, and nothing is an orphan
    assert report.to_counts()["ok"] == 1
    assert report.to_counts()["tarballs"] == 1
    assert len(report.findings) == 0
    # and the listing beyond the cut was asked for by one targeted lookup of its exact key
    assert (PREFIX + "h/x.tar.gz.list.txt", "") in bucket.ranges_listed


def test_a_manifest_before_the_cut_belongs_to_the_tarball_after_it() -> None:
    # given a stem-anchored manifest that sorts before its tarball, with the cut between them
    keys = {PREFIX + "h/snap.manifest.json", PREFIX + "h/snap.tgz", PREFIX + "h/snap.tgz.list.txt"}
    bucket = bucket_of(keys, set())
    # when swept in two ranges
    report = swept_in_ranges(bucket, [PREFIX + "h/snap.manifest.json"])
    # then the manifest is the tarball's (no orphan, no missing manifest)
    assert report.to_counts()["ok"] == 1
    assert report.to_counts()["orphan"] == 0


class UnreliableFolders(FakeBucket):
    """A server whose delimiter listings drop some CommonPrefixes and repeat others."""

    def __init__(self, keys: set[str], drop: set[str], repeat: set[str]) -> None:
        super().__init__([obj(k) for k in keys], page_size=2)
        self.drop, self.repeat = drop, repeat

    def folder(self, bucket: str, prefix: str) -> Iterator[FolderPage]:
        for page in super().folder(bucket, prefix):
            folders: list[str] = []
            for f in page.folders:
                if f not in self.drop:
                    folders += [f, f] if f in self.repeat else [f]
            yield FolderPage(page.objects, folders)


many_folders = st.sets(
    st.builds(
        lambda a, b, n: f"{PREFIX}{a}/{b}/{n}",
        st.sampled_from(["alpha", "beta", "gamma", "d e+f"]),
        st.sampled_from(["deep", "2026", "x.tar.gz.d"]),
        st.sampled_from(NAMES),
    )
    | st.builds(
        lambda a, n: f"{PREFIX}{a}/{n}", st.sampled_from(["alpha", "beta", "omega"]), st.sampled_from(NAMES)
    ),
    min_size=1,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=many_folders, data=st.data(), concurrency=st.integers(2, 6), depth=st.integers(0, 2))
def test_a_server_that_drops_or_repeats_common_prefixes_changes_shards_not_verdicts(
    keys: set[str], data: st.DataObject, concurrency: int, depth: int
) -> None:
    # given a server that leaves out some folders and repeats others in its delimiter listings
    folders = sorted({k[: i + 1] for k in keys for i, c in enumerate(k) if c == "/" and i >= len(PREFIX)})
    drop = data.draw(st.sets(st.sampled_from(folders)))
    repeat = data.draw(st.sets(st.sampled_from(folders)))
    bucket = UnreliableFolders(keys, drop, repeat)
    # when swept with range shards
    sharded = Sweep(bucket, POLICY, 0, depth, FakeClock(), concurrency=concurrency).run("b", PREFIX)
    # then the report is one flat listing's, finding for finding
    whole = Sweep(bucket, POLICY, 0, depth, FakeClock()).run("b", PREFIX)
    assert essence(sharded) == essence(whole)
    assert sharded.objects_listed == len(keys)


def test_the_folder_that_holds_only_sub_folders_is_swept_when_the_server_leaves_it_out() -> None:
    # given s3rver's behaviour: `beta/deep/` holds only sub-folders and is missing from beta's folder listing
    keys = {
        PREFIX + "beta/a.tar",
        PREFIX + "beta/a.tar.list.txt",
        PREFIX + "beta/deep/nested/lost.tar",  # its listing is missing: the finding that must not vanish
        PREFIX + "beta/deep/nested/ok.tar",
        PREFIX + "beta/deep/nested/ok.tar.list.txt",
        PREFIX + "gamma/b.tar",
        PREFIX + "gamma/b.tar.list.txt",
    }
    bucket = UnreliableFolders(keys, drop={PREFIX + "beta/deep/"}, repeat=set())
    # when swept with shards, split down to the leaves
    report = Sweep(bucket, POLICY, 0, 2, FakeClock(), concurrency=8).run("b", PREFIX)
    # then the hidden folder's missing listing is reported
    assert report.to_counts()["tarballs"] == 4
    assert PREFIX + "beta/deep/nested/lost.tar" in {f["key"] for f in report.findings}
