"""Fleet health: each silent state (empty prefix, overdue or vanished host, unseen upload) is a problem."""

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from sibling_sentinel.domain.core.rules import listing_rule
from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.core.verdicts import Policy
from sibling_sentinel.domain.event_path.check import check_id_of
from sibling_sentinel.domain.sweep.fleet import (
    LOOKBACK_S,
    OVERDUE_BROKEN,
    OVERDUE_SILENT,
    EventPathWatch,
    FleetRules,
    PreviousRun,
    assess,
    changes_lines,
    health_lines,
)
from sibling_sentinel.domain.sweep.reconcile import reconcile
from sibling_sentinel.domain.sweep.report import Report

from fakes import NOW, obj

POLICY = Policy(TarballNaming(), (listing_rule(),), grace_s=7200)
HOUR, DAY = 3600, 86400
LISTING = 100


def build(objects: list, threshold: int = 0) -> Report:
    report = Report("bkt", "backups/", threshold, 1, started_at=NOW)
    for outcome in reconcile([sorted(objects, key=lambda o: o.key)], POLICY, NOW):
        report.add(outcome)
    return report


def backup(host: str, name: str, age_s: float, listing: bool = True) -> list:
    tarball = obj(f"backups/{host}/{name}.tar", age_s=age_s)
    return [tarball, obj(tarball.key + ".list.txt", LISTING, age_s=age_s)] if listing else [tarball]


class Records:
    """The event path's records: the check ids it has seen."""

    def __init__(self, seen: set[str]) -> None:
        self.ids = seen
        self.asked: list[list[str]] = []

    def seen(self, check_ids: Sequence[str]) -> set[str]:
        self.asked.append(list(check_ids))
        return self.ids & set(check_ids)


def previous(
    hosts: set[str], findings: frozenset = frozenset(), overdue: frozenset = frozenset()
) -> PreviousRun:
    return PreviousRun(
        "s3://reports/r/prev.json",
        "backups/",
        NOW - timedelta(days=1),
        frozenset(hosts),
        findings,
        overdue,
        frozenset(),
    )


def test_a_prefix_with_fewer_tarballs_than_the_minimum_breaches_whatever_the_threshold() -> None:
    # given two good tarballs, a minimum of three and a generous threshold
    report = build(backup("h1", "a", DAY) + backup("h2", "b", DAY), threshold=100)
    # when the fleet is assessed
    assess(report, FleetRules(min_tarballs=3), NOW)
    # then the sweep breaches, with the reason, though no tarball has a problem
    assert report.volume_breach
    assert report.breach
    assert report.to_dict()["min_tarballs"] == 3
    assert any("TOO FEW TARBALLS: 2" in line and "minimum 3" in line for line in health_lines(report))


def test_enough_tarballs_is_no_volume_breach() -> None:
    report = build(backup("h1", "a", DAY))
    assess(report, FleetRules(min_tarballs=1), NOW)
    assert not report.volume_breach
    assert not report.breach


def test_an_unfinished_sweep_is_not_judged_on_volume() -> None:
    # given a sweep that stopped early, with nothing counted yet
    report = build([])
    report.complete = False
    # when assessed, then no fleet problem is invented from what it did not reach
    assess(report, FleetRules(min_tarballs=5, max_backup_age_s=DAY), NOW)
    assert report.fleet_problems == 0


def test_a_host_that_stopped_producing_is_overdue_and_silent() -> None:
    # given h1 backed up an hour ago and h2 last backed up a week ago
    report = build(backup("h1", "a", HOUR) + backup("h2", "b", 7 * DAY))
    # when freshness is checked at 26 h
    assess(report, FleetRules(max_backup_age_s=26 * HOUR), NOW)
    # then h2 alone is overdue, as a host that produces nothing, and it is a problem
    assert report.hosts_overdue == ["h2"]
    assert report.overdue["h2"] == OVERDUE_SILENT
    assert report.problems == 1
    assert report.breach
    groups = report.to_dict()["groups"]
    assert groups["h2"]["overdue"] is True
    assert groups["h1"]["overdue"] is False
    assert any("OVERDUE: host h2" in line and "stopped producing" in line for line in health_lines(report))


def test_a_host_whose_new_tarballs_lack_siblings_is_overdue_and_broken() -> None:
    # given h1's last complete backup is a week old, and it still uploads tarballs without listings
    report = build(backup("h1", "old", 7 * DAY) + backup("h1", "new", 3 * HOUR, listing=False))
    # when freshness is checked
    assess(report, FleetRules(max_backup_age_s=26 * HOUR), NOW)
    # then h1 is overdue as a host whose siblings are bad, not as one that is silent
    assert report.overdue == {"h1": OVERDUE_BROKEN}
    assert report.problems == 2  # the missing listing, and the overdue host
    assert any("tarballs keep coming" in line for line in health_lines(report))


def test_a_host_with_no_complete_backup_ever_is_overdue() -> None:
    report = build(backup("h1", "a", 3 * HOUR, listing=False))
    assess(report, FleetRules(max_backup_age_s=26 * HOUR), NOW)
    assert report.overdue == {"h1": OVERDUE_BROKEN}
    assert "newest complete backup never" in "\n".join(health_lines(report))


def test_a_new_host_whose_only_tarballs_are_pending_is_not_overdue() -> None:
    # given a host seen for the first time, its first backup still within the grace period
    report = build(backup("new-host", "first", 20 * 60, listing=False))
    # when freshness is checked, then it has not had the chance to be late
    assess(report, FleetRules(max_backup_age_s=26 * HOUR), NOW)
    assert report.hosts_overdue == []


def test_without_a_maximum_age_freshness_is_said_to_be_unchecked() -> None:
    report = build(backup("h2", "b", 30 * DAY))
    assess(report, FleetRules(), NOW)
    assert report.hosts_overdue == []
    assert any("freshness: not checked" in line for line in health_lines(report))
    assert report.to_dict()["max_backup_age_s"] is None


def test_a_host_in_the_previous_report_and_absent_now_has_vanished() -> None:
    # given the previous sweep saw h1 and h2, and tonight only h1 is there
    report = build(backup("h1", "a", HOUR))
    # when assessed against the previous run
    assess(report, FleetRules(), NOW, previous({"h1", "h2"}))
    # then h2 has vanished, is a problem, and is named in the report
    assert report.hosts_vanished == ["h2"]
    assert report.breach
    assert report.to_dict()["hosts_vanished"] == ["h2"]
    assert "VANISHED: host h2" in "\n".join(health_lines(report))


def test_a_previous_report_of_another_prefix_vanishes_nothing() -> None:
    report = build(backup("h1", "a", HOUR))
    other = replace(previous({"h1", "h2"}), prefix="backups/h1/")
    assess(report, FleetRules(), NOW, other)
    assert report.hosts_vanished == []
    assert report.previous is None


def test_previous_run_reads_a_report_and_keeps_its_vanished_hosts_open() -> None:
    # given a previous report that already called h3 vanished
    body = {
        "prefix": "backups/",
        "started_at": "2026-11-21T03:00:00Z",
        "groups": {"h1": {}, "h2": {}},
        "hosts_vanished": ["h3"],
        "hosts_overdue": ["h2"],
        "findings": [{"key": "backups/h1/a.tar", "sibling": "backups/h1/a.tar.list.txt"}],
    }
    run = PreviousRun.from_report("s3://r/p.json", json.loads(json.dumps(body)))
    # when tonight's sweep sees only h1
    report = build(backup("h1", "a", HOUR))
    assess(report, FleetRules(), NOW, run)
    # then h3 is still reported (still open), and h2 is new
    assert report.hosts_vanished == ["h2", "h3"]
    text = "\n".join(changes_lines(report))
    assert "hosts vanished: new h2; still open h3" in text


def test_old_reports_without_the_fleet_fields_are_read() -> None:
    run = PreviousRun.from_report(
        "s3://r/p.json", {"prefix": "backups/", "started_at": "2026-11-21T03:00:00Z"}
    )
    assert run.hosts == frozenset()
    assert run.findings == frozenset()


def test_the_alert_separates_new_findings_from_ones_still_open() -> None:
    # given the previous sweep already found a.tar's listing missing
    objects = backup("h1", "a", DAY, listing=False) + backup("h1", "b", DAY, listing=False)
    report = build(objects)
    before = frozenset({("backups/h1/a.tar", "backups/h1/a.tar.list.txt")})
    # when tonight finds a.tar and b.tar missing
    assess(report, FleetRules(), NOW, previous({"h1"}, before))
    # then one finding is new and one still open
    assert "findings: 1 new, 1 still open" in "\n".join(changes_lines(report))


def test_without_a_previous_report_every_finding_is_new() -> None:
    report = build(backup("h1", "a", DAY, listing=False))
    assess(report, FleetRules(), NOW)
    assert "every finding is new" in changes_lines(report)[0]


def test_a_settled_tarball_the_event_path_never_saw_is_not_checked() -> None:
    # given two tarballs from last night, one seen by the event path and one not, and one too young
    seen_one = obj("backups/h1/seen.tar", age_s=10 * HOUR, etag="e1")
    unseen = obj("backups/h1/unseen.tar", age_s=10 * HOUR, etag="e2")
    young = obj("backups/h1/young.tar", age_s=10 * 60, etag="e3")
    siblings = [obj(t.key + ".list.txt", LISTING, age_s=10 * HOUR) for t in (seen_one, unseen, young)]
    report = build([seen_one, unseen, young, *siblings])
    records = Records({check_id_of("bkt", seen_one.key, "e1")})
    # when the event path is asked about them, with a 5 min delay and a 1 h deadline
    assess(report, FleetRules(), NOW, previous({"h1"}), EventPathWatch(records, 300 + 3600))
    # then only the unseen, settled tarball counts, is named, and is a problem
    assert report.tarballs_not_checked == 1
    assert report.not_checked == [unseen.key]
    assert len(records.asked[0]) == 2  # the young one is not asked about yet
    assert report.problems == 1
    assert report.breach
    assert f"s3://bkt/{unseen.key}" in "\n".join(health_lines(report))


def test_tarballs_settled_before_the_previous_sweep_are_not_asked_about_again() -> None:
    # given a tarball that was already settled when the previous sweep ran a day ago
    old = obj("backups/h1/old.tar", age_s=2 * DAY + HOUR, etag="e")
    report = build([old, obj(old.key + ".list.txt", LISTING, age_s=2 * DAY)])
    records = Records(set())
    # when the event path is asked
    assess(report, FleetRules(), NOW, previous({"h1"}), EventPathWatch(records, 3900))
    # then it is outside tonight's window, and nothing is not-checked
    assert report.tarballs_not_checked == 0
    assert records.asked == [[]]


def test_a_first_sweep_sets_the_event_paths_baseline_and_measures_nothing() -> None:
    # given no previous run: the stack may be minutes old, so no earlier upload was its to see
    report = build([obj("backups/h1/a.tar", age_s=DAY, etag="f")])
    records = Records(set())
    assess(report, FleetRules(), NOW, None, EventPathWatch(records, 3900))
    # then nothing is asked, and the count is "not measured", not 0
    assert report.tarballs_not_checked is None
    assert records.asked == []


def test_after_a_first_sweep_the_window_starts_at_that_sweep() -> None:
    # given the first sweep ran 12 h ago, and tarballs from 13 h and 10 h ago
    before = obj("backups/h1/before.tar", age_s=13 * HOUR, etag="e")
    after = obj("backups/h1/after.tar", age_s=10 * HOUR, etag="f")
    report = build([before, after])
    first = replace(previous({"h1"}), started_at=NOW - timedelta(hours=12), measured_event_path=False)
    # when tonight's sweep asks the event path
    assess(report, FleetRules(), NOW, first, EventPathWatch(Records(set()), 3900))
    # then only the upload after the first sweep is due
    assert report.not_checked == [after.key]


def test_the_window_reaches_no_further_back_than_the_records_are_kept() -> None:
    # given the previous sweep ran ten days ago
    beyond = obj("backups/h1/ancient.tar", age_s=LOOKBACK_S + HOUR, etag="e")
    within = obj("backups/h1/recent.tar", age_s=DAY, etag="f")
    report = build([beyond, within])
    long_ago = replace(previous({"h1"}), started_at=NOW - timedelta(days=10))
    assess(report, FleetRules(), NOW, long_ago, EventPathWatch(Records(set()), 3900))
    assert report.not_checked == [within.key]


def test_previous_run_knows_whether_it_measured_the_event_path() -> None:
    base = {"prefix": "backups/", "started_at": "2026-11-21T03:00:00Z"}
    assert PreviousRun.from_report("u", {**base, "tarballs_not_checked": 0}).measured_event_path
    assert not PreviousRun.from_report("u", {**base, "tarballs_not_checked": None}).measured_event_path


def test_without_an_event_path_the_count_is_not_measured() -> None:
    report = build(backup("h1", "a", DAY))
    assess(report, FleetRules(), NOW)
    assert report.to_dict()["tarballs_not_checked"] is None


def test_recent_tarballs_survive_a_checkpoint_and_a_tally() -> None:
    # given a report holding a recent tarball
    report = build(backup("h1", "a", HOUR))
    assert [t.key for t in report.recent] == ["backups/h1/a.tar"]
    # when it goes through a checkpoint's state and a worker's tally
    resumed = Report.resumed(report.state(), [])
    merged = Report("bkt", "backups/", 0, started_at=NOW)
    merged.merge(resumed.take(0))
    # then the recent tarball is still there to ask the event path about
    assert [t.key for t in merged.recent] == ["backups/h1/a.tar"]
