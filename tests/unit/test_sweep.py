import pytest

from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.verdicts import Verdict
from sibling_sentinel.domain.manifests.one_tarball import check_tarball
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.domain.sweep.sweep import Sweep, as_folder
from sibling_sentinel.errors import ConfigError, ObjectNotFoundError, ThrottledError

from fakes import NOW, FakeBucket, FakeClock, obj

POLICY = Config().policy()


def sweep(bucket: FakeBucket, clock: FakeClock | None = None) -> Sweep:
    return Sweep(bucket, POLICY, threshold=0, group_depth=1, clock=clock or FakeClock())


def test_sweep_reconciles_every_page_and_times_itself() -> None:
    # given 2,500 objects listed in pages of 1,000, and a clock that advances 1.5 s per reading
    objects = [obj(f"backups/h/{i:05d}.tar{s}", 100) for i in range(1250) for s in ("", ".list.txt")]
    pages_seen: list[int] = []
    # when swept with a progress callback
    report = sweep(FakeBucket(objects), FakeClock(step_s=1.5)).run(
        "b", "backups/", progress=lambda n, r: pages_seen.append(n)
    )
    # then every tarball is judged, progress came once per page, and the duration is the clock's
    assert report.objects_listed == 2500
    assert report.counts["tarballs"] == 1250
    assert report.counts["ok"] == 1250
    assert pages_seen == [1, 2, 3]
    assert report.duration_s == 1.5


def test_sweep_only_sees_the_prefix() -> None:
    bucket = FakeBucket([obj("backups/h/a.tar"), obj("backups-old/h/b.tar")])
    report = sweep(bucket).run("b", as_folder("backups"))
    assert report.counts["tarballs"] == 1
    assert [f["key"] for f in report.findings] == ["backups/h/a.tar"]


def test_a_sweep_that_fails_midway_gives_no_report() -> None:
    # given a listing that is throttled after its first page
    bucket = FakeBucket([obj(f"backups/h/{i:04d}.tar") for i in range(3000)])
    bucket.fail_after_pages = (1, ThrottledError("listing s3://b/backups/: SlowDown"))
    # when swept
    # then the error ends the sweep; nothing says "all good" or "missing"
    with pytest.raises(ThrottledError, match="SlowDown"):
        sweep(bucket).run("b", "backups/")


def test_check_judges_one_tarball_from_a_single_read_of_it_and_its_siblings() -> None:
    # given a tarball with a short listing
    bucket = FakeBucket([obj("backups/h/a.tar"), obj("backups/h/a.tar.list.txt", 10)])
    # when it is checked
    result = check_tarball(bucket, "b", "backups/h/a.tar", POLICY, NOW)
    # then one read asked for both keys, and the listing is judged undersized
    assert result.verdict is Verdict.UNDERSIZED
    assert bucket.finds == [["backups/h/a.tar", "backups/h/a.tar.list.txt"]]


def test_check_of_an_absent_tarball_is_an_error_not_a_verdict() -> None:
    with pytest.raises(ObjectNotFoundError, match="does not exist"):
        check_tarball(FakeBucket(), "b", "backups/h/a.tar", POLICY, NOW)


def test_check_of_a_non_tarball_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="not a tarball"):
        check_tarball(FakeBucket(), "b", "backups/h/a.tar.list.txt", POLICY, NOW)


def test_report_is_built_with_the_sweep_start_as_now() -> None:
    report = sweep(FakeBucket([obj("backups/h/a.tar", age_s=10)])).run("b", "backups/")
    assert isinstance(report, Report)
    assert report.started_at == NOW
    assert report.counts["pending"] == 1
