import pytest

from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.core.rules import listing_rule, manifest_rule
from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.core.verdicts import Orphan, Outcome, Policy, TarballVerdict, Verdict
from sibling_sentinel.domain.sweep.reconcile import OutOfOrderError, Reconciler, reconcile

from fakes import NOW, obj

LISTING_ONLY = Policy(TarballNaming(), (listing_rule(),), grace_s=0)
WITH_MANIFEST = Policy(TarballNaming(), (listing_rule(), manifest_rule(required=True)), grace_s=0)


def run(objects: list[ListedObject], policy: Policy = LISTING_ONLY) -> dict[str, Verdict]:
    ordered = sorted(objects, key=lambda o: o.key)
    return {_key(o): o.verdict for o in reconcile([ordered], policy, NOW)}


def _key(outcome: Outcome) -> str:
    return outcome.tarball.key if isinstance(outcome, TarballVerdict) else outcome.sibling.key


def test_each_tarball_gets_exactly_one_outcome() -> None:
    # given two tarballs, one with a listing
    objects = [obj("b/h/a.tar"), obj("b/h/a.tar.list.txt", 100), obj("b/h/b.tar")]
    # when reconciled
    outcomes = list(reconcile([sorted(objects, key=lambda o: o.key)], LISTING_ONLY, NOW))
    # then there is one outcome per tarball, with the right verdicts
    assert [(_key(o), o.verdict) for o in outcomes] == [
        ("b/h/a.tar", Verdict.OK),
        ("b/h/b.tar", Verdict.MISSING),
    ]


def test_siblings_are_paired_whatever_sorts_between_them() -> None:
    # given keys that sort between x.tar and x.tar.list.txt: sub-folders, x.tar-1, a checksum file
    objects = [
        obj("b/h/x.tar"),
        obj("b/h/x.tar-1/deep/y.tar"),
        obj("b/h/x.tar-1/deep/y.tar.list.txt", 100),
        obj("b/h/x.tar.d/notes.txt"),
        obj("b/h/x.tar.gz.d/z.tgz"),
        obj("b/h/x.tar.gz.d/z.tgz.list.txt", 100),
        obj("b/h/x.tar.sha256"),
        obj("b/h/x.tar.list.txt", 100),
    ]
    # when reconciled in S3 order
    verdicts = run(objects)
    # then every tarball found its listing
    assert verdicts == {
        "b/h/x.tar": Verdict.OK,
        "b/h/x.tar-1/deep/y.tar": Verdict.OK,
        "b/h/x.tar.gz.d/z.tgz": Verdict.OK,
    }


def test_listing_without_tarball_is_an_orphan() -> None:
    # given a listing whose tarball was deleted
    verdicts = run([obj("b/h/gone.tar.zst.list.txt", 100)])
    # then the listing is reported as an orphan, about the listing's own key
    assert verdicts == {"b/h/gone.tar.zst.list.txt": Verdict.ORPHAN}


def test_a_listing_of_a_non_tarball_is_just_a_file() -> None:
    # given notes.list.txt (notes is no tarball)
    # then it is neither a sibling nor an orphan
    assert run([obj("b/h/notes.list.txt", 100)]) == {}


def test_a_sibling_in_another_folder_does_not_count() -> None:
    # given a listing for h1's tarball that was written into h2's folder
    verdicts = run([obj("b/h1/x.tar"), obj("b/h2/x.tar.list.txt", 100)])
    # then h1's tarball is missing its listing and the stray one is an orphan
    assert verdicts == {"b/h1/x.tar": Verdict.MISSING, "b/h2/x.tar.list.txt": Verdict.ORPHAN}


def test_stem_siblings_sorting_before_their_tarball_are_found() -> None:
    # given snapshot.manifest.json, which sorts before snapshot.tgz
    objects = [
        obj("b/h/snapshot.manifest.json", 100),
        obj("b/h/snapshot.tgz"),
        obj("b/h/snapshot.tgz.list.txt", 100),
    ]
    # then the tarball has both siblings
    assert run(objects, WITH_MANIFEST) == {"b/h/snapshot.tgz": Verdict.OK}


def test_one_manifest_can_serve_two_tarballs_with_the_same_stem() -> None:
    objects = [
        obj("b/h/s.manifest.json", 100),
        obj("b/h/s.tar"),
        obj("b/h/s.tar.list.txt", 100),
        obj("b/h/s.tgz"),
        obj("b/h/s.tgz.list.txt", 100),
    ]
    assert run(objects, WITH_MANIFEST) == {"b/h/s.tar": Verdict.OK, "b/h/s.tgz": Verdict.OK}


def test_manifest_without_any_tarball_is_an_orphan() -> None:
    verdicts = run(
        [obj("b/h/s.manifest.json", 100), obj("b/h/t.tar"), obj("b/h/t.tar.list.txt", 100)], WITH_MANIFEST
    )
    assert verdicts == {"b/h/s.manifest.json": Verdict.ORPHAN, "b/h/t.tar": Verdict.MISSING}


def test_manifest_whose_tarball_sorts_before_it_is_claimed() -> None:
    # given a tarball stem "s" with extension ".a" sorting before ".manifest.json"
    policy = Policy(TarballNaming((".a",)), (manifest_rule(required=True),), 0)
    assert run([obj("b/s.a"), obj("b/s.manifest.json", 100)], policy) == {"b/s.a": Verdict.OK}
    assert run([obj("b/s.manifest.json", 100)], policy) == {"b/s.manifest.json": Verdict.ORPHAN}


def test_out_of_order_input_is_refused() -> None:
    # given a lister that returned keys out of order
    reconciler = Reconciler(LISTING_ONLY, NOW)
    reconciler.feed(obj("b/h/b.tar"))
    # then the reconciler refuses, rather than give wrong verdicts
    with pytest.raises(OutOfOrderError, match="came after"):
        reconciler.feed(obj("b/h/a.tar"))
    with pytest.raises(OutOfOrderError):
        reconciler.feed(obj("b/h/b.tar"))


def test_memory_is_bounded_by_what_is_open_not_by_the_listing() -> None:
    # given 50,000 tarballs with listings in one folder, and one tarball whose listing sorts far away
    reconciler = Reconciler(LISTING_ONLY, NOW)
    peak = 0
    outcomes: list[Outcome] = []
    keys = ["b/h/a.tar", *(f"b/h/a.tar-{i:05d}.tar{s}" for i in range(50_000) for s in ("", ".list.txt"))]
    # when they stream through
    for key in [*keys, "b/h/a.tar.list.txt"]:
        outcomes += reconciler.feed(obj(key, 100))
        peak = max(peak, reconciler.open_entries)
    outcomes += reconciler.finish()
    # then no more than the far tarball and one neighbour were ever held at once
    assert peak <= 2
    assert len(outcomes) == 50_001
    assert all(o.verdict is Verdict.OK for o in outcomes)
    assert reconciler.objects_seen == len(keys) + 1


def test_page_boundaries_do_not_matter() -> None:
    objects = sorted(
        [obj("b/h/a.tar"), obj("b/h/a.tar.list.txt", 100), obj("b/h/b.tar")], key=lambda o: o.key
    )
    split = [[objects[0]], [], [objects[1], objects[2]]]
    assert list(reconcile(split, LISTING_ONLY, NOW)) == list(reconcile([objects], LISTING_ONLY, NOW))


def test_orphan_names_the_tarball_it_expected() -> None:
    (outcome,) = reconcile([[obj("b/h/gone.tar.list.txt", 5)]], LISTING_ONLY, NOW)
    assert isinstance(outcome, Orphan)
    assert outcome.expected == "b/h/gone.tar"
