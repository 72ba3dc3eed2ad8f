import json

from sibling_sentinel.domain.core.rules import listing_rule
from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.core.verdicts import Policy
from sibling_sentinel.domain.sweep.reconcile import reconcile
from sibling_sentinel.domain.sweep.report import TOP_GROUP, Finding, FindingLog, Report, group_of

from fakes import NOW, obj

POLICY = Policy(TarballNaming(), (listing_rule(),), grace_s=7200)
DAY = 86400


def build(objects: list, threshold: int = 0, depth: int = 1) -> Report:
    report = Report("bkt", "backups/", threshold, depth, started_at=NOW)
    for outcome in reconcile([sorted(objects, key=lambda o: o.key)], POLICY, NOW):
        report.add(outcome)
    report.objects_listed = len(objects)
    return report


FLEET = [
    obj("backups/h1/old.tar", age_s=3 * DAY),
    obj("backups/h1/old.tar.list.txt", 100, age_s=3 * DAY),
    obj("backups/h1/new.tar", age_s=DAY),  # missing
    obj("backups/h1/newest.tar", age_s=60),  # pending
    obj("backups/h2/a.tar", age_s=DAY),
    obj("backups/h2/a.tar.list.txt", 10, age_s=DAY),  # undersized
    obj("backups/h2/gone.tar.list.txt", 100),  # orphan
    obj("backups/loose.tar", age_s=DAY),
    obj("backups/loose.tar.list.txt", 100, age_s=DAY),
]


def test_json_report_has_every_field_of_the_contract() -> None:
    # given a sweep over a small fleet
    report = json.loads(build(FLEET).to_json())
    # then the JSON carries DESIGN.md's fields with the right values
    assert report["bucket"] == "bkt"
    assert report["prefix"] == "backups/"
    assert report["objects_listed"] == len(FLEET)
    assert report["counts"] == {
        "tarballs": 5,
        "ok": 2,
        "pending": 1,
        "missing": 1,
        "undersized": 1,
        "stale": 0,
        "invalid": 0,
        "orphan": 1,
    }
    assert report["problems"] == 2
    assert report["threshold"] == 0
    assert report["breach"] is True
    assert report["coverage"] == 0.5  # 2 ok of the 4 tarballs that are not pending
    assert "duration_s" in report
    assert set(report["groups"]) == {"h1", "h2", TOP_GROUP}


def test_findings_list_every_tarball_that_is_not_ok_and_every_orphan() -> None:
    findings = json.loads(build(FLEET).to_json())["findings"]
    # then only the four non-ok keys appear, each with its sibling, verdict, size and time
    assert [(f["key"], f["verdict"]) for f in findings] == [
        ("backups/h1/new.tar", "missing"),
        ("backups/h1/newest.tar", "pending"),
        ("backups/h2/a.tar", "undersized"),
        ("backups/h2/gone.tar.list.txt", "orphan"),
    ]
    undersized = findings[2]
    assert undersized["sibling"] == "backups/h2/a.tar.list.txt"
    assert undersized["sibling_size"] == 10
    assert undersized["size"] == 1000
    assert undersized["last_modified"].endswith("Z")
    assert findings[3]["sibling"] == "backups/h2/gone.tar"


def test_groups_give_the_newest_complete_backup_per_host() -> None:
    groups = json.loads(build(FLEET).to_json())["groups"]
    # given host h1 whose two newest tarballs lack a listing
    # then its newest tarball is recent but its newest complete backup is three days old
    assert groups["h1"]["newest_tarball"]["key"] == "backups/h1/newest.tar"
    assert groups["h1"]["newest_complete"]["key"] == "backups/h1/old.tar"
    assert groups["h1"]["counts"]["tarballs"] == 3
    assert groups["h1"]["problems"] == 1
    # and h2 has no complete backup at all
    assert groups["h2"]["newest_complete"] is None


def test_outcomes_of_interleaved_shards_each_count_in_their_own_group() -> None:
    # given the outcomes of two hosts' shards and of the prefix itself, handed over interleaved
    outcomes = {
        name: list(reconcile([[obj(f"backups/{name}{n}.tar", age_s=DAY) for n in range(3)]], POLICY, NOW))
        for name in ("h1/", "h2/", "")
    }
    report = Report("bkt", "backups/", 0, started_at=NOW)
    for batch in zip(outcomes["h1/"], outcomes["h2/"], outcomes[""], outcomes["h1/"], strict=True):
        for outcome in batch:
            report.add(outcome)
    # then each host counts its own tarballs, and the prefix's own count in the top group
    counts = {name: group.counts["tarballs"] for name, group in report.groups.items()}
    assert counts == {"h1": 6, "h2": 3, TOP_GROUP: 3}


def test_problems_at_the_threshold_are_not_a_breach() -> None:
    assert build(FLEET, threshold=2).breach is False
    assert build(FLEET, threshold=1).breach is True


def test_coverage_of_a_sweep_with_nothing_judged_is_zero_not_100_percent() -> None:
    # given a sweep whose only tarball is still pending
    report = build([obj("backups/h/young.tar", age_s=5)])
    # then nothing was judged, which is not full coverage, and still no problem
    assert report.coverage == 0.0
    assert report.problems == 0


def test_group_is_the_folder_at_the_configured_depth() -> None:
    assert group_of("backups/h1/x.tar", "backups/", 1) == "h1"
    assert group_of("backups/dc1/h1/x.tar", "backups/", 2) == "dc1/h1"
    assert group_of("backups/dc1/x.tar", "backups/", 2) == TOP_GROUP
    assert group_of("backups/x.tar", "backups/", 1) == TOP_GROUP
    assert group_of("backups/h1/x.tar", "backups/", 0) == TOP_GROUP


def test_text_report_shows_summary_findings_and_groups() -> None:
    text = build(FLEET).to_text()
    assert "problems 2 (threshold 0): BREACH" in text
    assert "missing     backups/h1/new.tar" in text
    assert "-> backups/h1/new.tar.list.txt: no listing sibling" in text
    assert "HOSTS" in text
    assert "NONE" in text  # h2 has no complete backup


def test_a_prefix_with_no_tarballs_is_a_breach_with_its_reason() -> None:
    # given a sweep of a prefix with no tarballs, at the default minimum of one
    report = build([])
    text = report.to_text()
    # then it is a breach that says why, and nothing is covered
    assert report.volume_breach
    assert report.breach
    assert "no tarballs under this prefix" in text
    assert "TOO FEW TARBALLS: 0 under s3://bkt/backups/, fewer than the minimum 1" in text
    assert "BREACH" in text
    assert report.coverage == 0.0
    assert report.to_dict()["volume_breach"] is True


def test_json_is_ascii_and_keeps_unicode_and_markup_exactly() -> None:
    # given a key with unicode and markup
    key = "backups/h/résumé & <notes>.tar"
    report = build([obj(key)]).to_json()
    # then the JSON is plain ASCII (safe on any terminal) and parses back to the exact key
    assert report.isascii()
    assert json.loads(report)["findings"][0]["key"] == key


def test_empty_prefix_carries_a_warning_in_json() -> None:
    assert json.loads(build([]).to_json())["warnings"] == [
        "no tarballs under this prefix; is the prefix right?"
    ]
    assert json.loads(build(FLEET).to_json())["warnings"] == []


def test_findings_past_the_memory_limit_spill_to_disk_and_all_come_back() -> None:
    # given a report that keeps only two findings in memory, and five tarballs missing their listing
    report = Report("bkt", "backups/", 0, 1, started_at=NOW)
    report.findings = FindingLog(in_memory=2)
    missing = [obj(f"backups/h/{i}.tar", age_s=DAY) for i in range(5)]
    for outcome in reconcile([missing], POLICY, NOW):
        report.add(outcome)
    # when rendered as JSON and text
    parsed = json.loads(report.to_json())
    # then all five findings are there, in order, and the JSON is one valid object
    assert [f["key"] for f in parsed["findings"]] == [o.key for o in missing]
    assert parsed["counts"]["missing"] == 5
    assert report.to_text().count("missing     backups/h/") == 5
    assert len(report.findings) == 5


def test_a_report_without_findings_is_valid_json() -> None:
    parsed = json.loads(build([obj("backups/h/a.tar"), obj("backups/h/a.tar.list.txt", 100)]).to_json())
    assert parsed["findings"] == []
    assert parsed["problems"] == 0


def test_a_report_merged_from_tallies_says_what_one_report_of_every_outcome_says() -> None:
    # given the fleet's outcomes, in the order a reconciler releases them
    outcomes = list(reconcile([sorted(FLEET, key=lambda o: o.key)], POLICY, NOW))
    whole = build(FLEET)
    for split in range(len(outcomes) + 1):
        # when a worker counts them in two takes (one of them maybe empty), and another report merges both
        worker = Report("", "backups/", 0, 1, started_at=NOW)
        merged = Report("bkt", "backups/", 0, 1, started_at=NOW)
        for part, objects in ((outcomes[:split], 4), (outcomes[split:], len(FLEET) - 4)):
            for outcome in part:
                worker.add(outcome)
            merged.merge(worker.take(objects))
        # then the merged report is the whole one: counts, groups, newest backups and findings
        assert merged.to_dict() == whole.to_dict(), f"split at {split}"
        # and the worker holds nothing once taken
        assert worker.groups == {}
        assert len(worker.findings) == 0


def test_a_group_merged_keeps_the_newest_tarball_and_the_newest_complete_backup_of_either() -> None:
    # given one host counted in two places: one saw an old complete backup, the other a newer failing one
    first = build(FLEET[:2]).groups["h1"]
    second = build([FLEET[2]]).groups["h1"]
    # when the second is merged into the first
    first.merge(second)
    # then the counts add up and each "newest" is the newest of the two
    assert first.counts["tarballs"] == 2
    assert first.counts["missing"] == 1
    assert first.newest_tarball == FLEET[2]
    assert first.newest_complete == FLEET[0]


def test_take_gives_back_the_spilled_findings_too_and_empties_the_log() -> None:
    # given a log that keeps two findings in memory and has spilled three more to disk
    report = build(FLEET)
    findings = [Finding.from_dict(f) for f in report.findings]
    log = FindingLog(in_memory=2)
    for finding in findings + findings[:2]:
        log.add(finding)
    # when its findings are taken
    taken = log.take()
    # then every finding comes back, in order, as objects, and the log is empty and usable again
    assert taken == findings + findings[:2]
    assert len(log) == 0
    assert list(log) == []
    log.add(findings[0])
    assert list(log) == [findings[0].to_dict()]
