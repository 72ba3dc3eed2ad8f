"""The manifest rule in force: per-folder requirements, the sweep, the event path and bounded reads."""

from datetime import timedelta

import pytest

from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.rules import Requirement, ScopedRule, manifest_rule
from sibling_sentinel.domain.event_path.check import CheckMessage, NewObject
from sibling_sentinel.domain.event_path.event_path import Checker
from sibling_sentinel.domain.manifests.inspection import InOrder, ManifestInspector, ManifestReads
from sibling_sentinel.domain.sweep.sweep import Sweep
from sibling_sentinel.errors import AccessDeniedError

from fakes import (
    NOW,
    FakeBucket,
    FakeBus,
    FakeClock,
    FakeCounter,
    FakeLog,
    FakeNotifier,
    FakeQueue,
    SerialPool,
    manifest_body,
    obj,
)

CORPUS = "backups/corpus/"
TARBALL = CORPUS + "snapshot.tgz"
LISTING = TARBALL + ".list.txt"
MANIFEST = CORPUS + "snapshot.manifest.json"


def bucket_with(manifest: bytes | None, tarball: str = TARBALL) -> FakeBucket:
    """A day-old tarball with a good listing and, when given, this manifest beside it."""
    bucket = FakeBucket([obj(tarball, size=5000), obj(tarball + ".list.txt", size=300)])
    if manifest is not None:
        bucket.put(tarball[: -len(".tgz")] + ".manifest.json", manifest)
    return bucket


def sweep(bucket: FakeBucket, config: Config, pool: SerialPool | None = None, window: int = 4) -> dict:
    reads = ManifestReads(ManifestInspector(bucket), pool or SerialPool(), window)
    run = Sweep(
        bucket, config.policy(), 0, 1, FakeClock(), manifests=reads if config.reads_manifests else None
    )
    return run.run("bkt", "backups/").to_dict()


REQUIRED = Config(manifest_rule="required")


# -- per-folder requirement ------------------------------------------------------------------------------


def test_the_longest_matching_folder_decides_the_requirement() -> None:
    # given the rule is required under backups/ but off under backups/scratch/
    scope = ScopedRule(
        manifest_rule(),
        Requirement.OFF,
        (("backups/", Requirement.REQUIRED), ("backups/scratch/", Requirement.OFF)),
    )
    # then each key gets its deepest folder's requirement, and a look-alike folder is not inside
    assert scope.requirement("backups/corpus/a.tgz") is Requirement.REQUIRED
    assert scope.requirement("backups/scratch/deep/a.tgz") is Requirement.OFF
    assert scope.requirement("backups-old/a.tgz") is Requirement.OFF


def test_manifest_rules_from_the_environment_override_the_default_per_folder() -> None:
    # given MANIFEST_RULE optional everywhere and required under backups/corpus
    config = Config.from_env({"MANIFEST_RULE": "optional", "MANIFEST_RULES": "backups/corpus=required"})
    policy = config.policy()
    # then a corpus tarball requires it and any other tarball only checks it when present
    assert [r.required for r in policy.rules_at(TARBALL)] == [True, True]
    assert [r.required for r in policy.rules_at("backups/web/a.tgz")] == [True, False]


def test_the_default_keeps_the_listing_rule_only() -> None:
    # given no manifest setting
    policy = Config().policy()
    # then nothing but the listing is expected, and no manifest is read
    assert [r.name for r in policy.rules_at(TARBALL)] == ["listing"]
    assert not Config().reads_manifests


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MANIFEST_RULE": "sometimes"}, "MANIFEST_RULE"),
        ({"MANIFEST_RULES": "backups/=maybe"}, "MANIFEST_RULES"),
        ({"MANIFEST_RULES": "backups/"}, "MANIFEST_RULES"),
        ({"MANIFEST_RULES": "/=required"}, "MANIFEST_RULES"),
        ({"MANIFEST_RULES": "a/=required,a=off"}, "MANIFEST_RULES"),
    ],
)
def test_a_bad_manifest_setting_names_its_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Config.from_env(env)


# -- the sweep -------------------------------------------------------------------------------------------


def test_sweep_judges_an_invalid_manifest_invalid_with_its_reason() -> None:
    # given a corpus tarball whose manifest has a bool format version, and the rule required
    bucket = bucket_with(manifest_body("snapshot.tgz", corpus_format_version=True))
    # when the prefix is swept
    report = sweep(bucket, REQUIRED)
    # then the tarball is invalid, a problem, with the reason, and only the manifest was read
    assert report["counts"]["invalid"] == 1
    assert report["problems"] == 1
    [finding] = report["findings"]
    assert (finding["key"], finding["sibling"], finding["verdict"]) == (TARBALL, MANIFEST, "invalid")
    assert "corpus_format_version must be an integer" in finding["reason"]
    assert bucket.reads == [MANIFEST]


def test_sweep_counts_a_valid_manifest_without_sha256_as_unverifiable() -> None:
    # given a valid manifest that carries no archive.sha256
    bucket = bucket_with(manifest_body("snapshot.tgz"))
    # when swept
    report = sweep(bucket, REQUIRED)
    # then the tarball is ok, and its checksum is counted unverifiable in the totals and its host
    assert report["counts"]["ok"] == 1
    assert report["checksums"] == {"verified": 0, "unverifiable": 1}
    assert report["groups"]["corpus"]["checksums"] == {"verified": 0, "unverifiable": 1}


def test_sweep_with_the_rule_required_reports_a_missing_manifest() -> None:
    report = sweep(bucket_with(None), REQUIRED)
    assert [(f["sibling"], f["verdict"]) for f in report["findings"]] == [(MANIFEST, "missing")]


def test_sweep_with_the_rule_optional_accepts_a_missing_manifest_but_checks_a_present_one() -> None:
    # given the rule optional, one tarball without a manifest and one with a wrong relative_path
    bucket = bucket_with(None)
    bucket.objects |= bucket_with(manifest_body("elsewhere.tgz"), CORPUS + "b.tgz").objects
    bucket.bodies[CORPUS + "b.manifest.json"] = manifest_body("elsewhere.tgz")
    # when swept
    report = sweep(bucket, Config(manifest_rule="optional"))
    # then the first is ok and the second invalid
    assert report["counts"]["ok"] == 1
    assert [(f["key"], f["verdict"]) for f in report["findings"]] == [(CORPUS + "b.tgz", "invalid")]


def test_sweep_with_the_rule_off_reads_no_manifest() -> None:
    # given an invalid manifest and the default configuration
    bucket = bucket_with(b"not json")
    # when swept
    report = sweep(bucket, Config())
    # then nothing is read and the tarball is ok on its listing alone
    assert report["counts"]["ok"] == 1
    assert bucket.reads == []


def test_sweep_never_reads_a_manifest_that_is_already_a_problem() -> None:
    # given a manifest of one byte (undersized) and the rule required
    bucket = bucket_with(b"{")
    # when swept
    report = sweep(bucket, REQUIRED)
    # then it is undersized without being read
    assert report["findings"][0]["verdict"] == "undersized"
    assert bucket.reads == []


def test_a_manifest_listed_larger_than_the_cap_is_invalid_without_being_read() -> None:
    bucket = bucket_with(manifest_body("snapshot.tgz"))
    bucket.objects[MANIFEST] = obj(MANIFEST, size=10_000_000)
    report = sweep(bucket, REQUIRED)
    assert "larger than the 65536-byte cap" in report["findings"][0]["reason"]
    assert bucket.reads == []


def test_a_manifest_deleted_after_the_listing_is_judged_absent() -> None:
    # given a manifest that is listed, but answers 404 when read
    bucket = bucket_with(manifest_body("snapshot.tgz"))
    listed = FakeBucket(list(bucket.objects.values()))
    del bucket.objects[MANIFEST]
    # when a sweep lists one view and reads the other
    reads = ManifestReads(ManifestInspector(bucket), SerialPool(), 4)
    report = Sweep(listed, REQUIRED.policy(), 0, 1, FakeClock(), manifests=reads).run("bkt", "backups/")
    # then the manifest is missing, as S3 now says
    assert [f["verdict"] for f in report.to_dict()["findings"]] == ["missing"]


def test_a_manifest_that_cannot_be_read_ends_the_sweep_with_an_error_not_a_verdict() -> None:
    # given reading the manifest is denied
    bucket = bucket_with(manifest_body("snapshot.tgz"))
    bucket.fail_reads = AccessDeniedError(
        "reading s3://bkt/backups/corpus/snapshot.manifest.json: AccessDenied"
    )
    # when swept, then the sweep fails with that error instead of reporting the manifest invalid
    with pytest.raises(AccessDeniedError):
        sweep(bucket, REQUIRED)


def test_sweep_holds_at_most_its_window_of_manifest_reads() -> None:
    # given 50 tarballs, each with a valid manifest, and a window of 4
    bucket = FakeBucket()
    for n in range(50):
        key = f"{CORPUS}{n:03}.tgz"
        bucket.objects |= bucket_with(manifest_body(f"{n:03}.tgz"), key).objects
        bucket.bodies[f"{CORPUS}{n:03}.manifest.json"] = manifest_body(f"{n:03}.tgz")
    pool = SerialPool()
    # when swept
    report = sweep(bucket, REQUIRED, pool, window=4)
    # then every manifest was read and judged, but never more than 4 reads were outstanding
    assert report["counts"]["ok"] == 50
    assert len(bucket.reads) == 50
    assert pool.most_held == 4


def test_in_order_gives_results_back_in_the_order_they_were_pushed() -> None:
    # given a window of 2, with work and ready values mixed
    queue: InOrder[int] = InOrder(SerialPool(), 2)
    # when five are pushed and the rest drained
    out = (
        queue.start(lambda: 1) + queue.add(2) + queue.start(lambda: 3) + queue.add(4) + queue.start(lambda: 5)
    )
    out += queue.drain()
    # then they come out in order
    assert out == [1, 2, 3, 4, 5]


def test_in_order_needs_a_window() -> None:
    with pytest.raises(ValueError, match="window"):
        InOrder(SerialPool(), 0)


# -- the event path --------------------------------------------------------------------------------------


def checker(bucket: FakeBucket, config: Config, queue: FakeQueue, bus: FakeBus) -> Checker:
    return Checker(
        bucket,
        queue,
        bus,
        FakeNotifier(),
        FakeCounter(),
        config.policy(grace_seconds=0),
        FakeClock(NOW),
        FakeLog(),
        manifests=ManifestInspector(bucket),
    )


def message(deadline_passed: bool) -> str:
    event_time = NOW - timedelta(seconds=7200 if deadline_passed else 60)
    return CheckMessage.first(NewObject("bkt", TARBALL, "e", 5000, event_time), 3600).to_json()


def test_event_path_fails_an_invalid_manifest_at_the_deadline_with_its_reason() -> None:
    # given a tarball whose manifest has a too-short sha256, past its deadline
    archive = {"relative_path": "snapshot.tgz", "sha256": "ab" * 31}
    bucket = bucket_with(manifest_body("snapshot.tgz", archive=archive))
    queue, bus = FakeQueue(), FakeBus()
    # when CheckSiblings handles its message
    step = checker(bucket, REQUIRED, queue, bus).handle_body(message(deadline_passed=True))
    # then the check fails with the invalid verdict and the reason in the event
    assert step == "failed"
    [(_, detail)] = bus.events
    assert detail["verdict"] == "invalid"
    assert "archive.sha256 must be 64 hex characters" in detail["siblings"][0]["reason"]


def test_event_path_waits_for_an_invalid_manifest_before_the_deadline() -> None:
    # given a young tarball whose manifest has no producer (it may still be rewritten)
    bucket = bucket_with(manifest_body("snapshot.tgz", producer=None))
    queue, bus = FakeQueue(), FakeBus()
    # when checked before the deadline
    step = checker(bucket, REQUIRED, queue, bus).handle_body(message(deadline_passed=False))
    # then it is checked again later, and nothing is alerted yet
    assert step == "rescheduled"
    assert bus.events == []


def test_event_path_passes_a_valid_manifest() -> None:
    bucket = bucket_with(manifest_body("snapshot.tgz"))
    step = checker(bucket, REQUIRED, FakeQueue(), FakeBus()).handle_body(message(deadline_passed=True))
    assert step == "passed"
    assert bucket.reads == [MANIFEST]


def test_a_manifest_without_its_tarball_is_an_orphan_where_the_rule_is_on() -> None:
    # given a manifest whose tarball is gone, and the rule optional
    bucket = FakeBucket()
    bucket.put(CORPUS + "gone.manifest.json", manifest_body("gone.tgz"))
    # when swept
    report = sweep(bucket, Config(manifest_rule="optional"))
    # then it is reported as an orphan, about its own key, and not read
    assert [(f["key"], f["verdict"]) for f in report["findings"]] == [
        (CORPUS + "gone.manifest.json", "orphan")
    ]
    assert bucket.reads == []


def test_a_scoped_prefix_must_be_a_folder() -> None:
    with pytest.raises(ValueError, match="must be a folder"):
        ScopedRule(manifest_rule(), Requirement.OFF, (("backups", Requirement.REQUIRED),))
