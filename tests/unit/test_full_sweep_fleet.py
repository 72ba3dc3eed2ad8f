"""FullSweep's fleet health: each silent state, from the bucket to the metric, the alert and the report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sibling_sentinel.domain.event_path.check import check_id_of
from sibling_sentinel.domain.sweep.fleet import FleetRules
from sibling_sentinel.domain.sweep.full_sweep import ALERT_BREACH, SweepRequest

from fakes import FullSweepRig, obj
from fixtures import event

PREFIX = "backups/"
HOUR, DAY = 3600, 86400
NIGHTLY_RULES = FleetRules(min_tarballs=1, max_backup_age_s=26 * HOUR)


def nightly() -> SweepRequest:
    return SweepRequest.from_event(event("full-sweep-scheduled.json"), PREFIX, 0)


def backup(host: str, name: str, age_s: float, etag: str = "e") -> list[Any]:
    key = f"backups/{host}/{name}.tar"
    return [obj(key, age_s=age_s, etag=etag), obj(key + ".list.txt", 300, age_s=age_s)]


def run(rig: FullSweepRig, request: SweepRequest, invocation: str = "0123456789abcdef") -> dict[str, Any]:
    return rig.service.run(request, invocation, lambda: 900.0)


def after_a_first_sweep(rig: FullSweepRig, hours_ago: float = 12) -> None:
    """The stack's first sweep, `hours_ago`: the event path's baseline; what it sent is forgotten."""
    tonight = rig.clock.now
    rig.clock.now = tonight - timedelta(hours=hours_ago)
    first = run(rig, nightly(), "first-sweep-invocation")
    assert first["tarballs_not_checked"] is None
    rig.clock.now = tonight
    rig.alerts.alerts.clear()
    rig.alerts.kinds.clear()
    rig.metrics.values.clear()


def alert_text(rig: FullSweepRig) -> str:
    ((subject, text),) = rig.alerts.alerts
    assert rig.alerts.kinds[-1] == ALERT_BREACH
    return f"{subject}\n{text}"


def test_an_empty_prefix_is_a_breach_with_zero_coverage_and_its_reason_in_the_alert() -> None:
    # given a watched prefix with nothing under it
    rig = FullSweepRig([], fleet=NIGHTLY_RULES)
    # when the nightly sweep runs
    result = run(rig, nightly())
    # then it is a breach: coverage 0, one problem, and the alert says why
    metrics = rig.metrics.as_dict()
    assert metrics["TarballsScanned"] == 0
    assert metrics["CoveragePercent"] == 0
    assert metrics["Problems"] == 1
    assert result["breach"] is True
    assert result["volume_breach"] is True
    assert "TOO FEW TARBALLS: 0 under s3://b/backups/" in alert_text(rig)
    assert "--min-tarballs 1" in alert_text(rig)


def test_an_overdue_host_is_counted_named_in_the_alert_and_flagged_in_the_report() -> None:
    # given h1 backed up last night and h2 a week ago
    rig = FullSweepRig(backup("h1", "a", 2 * HOUR) + backup("h2", "b", 7 * DAY), fleet=NIGHTLY_RULES)
    # when the nightly sweep runs
    run(rig, nightly())
    # then HostsOverdue is 1, the alert names h2 as silent, and the report flags it
    assert rig.metrics.as_dict()["HostsOverdue"] == 1
    assert "OVERDUE: host h2" in alert_text(rig)
    assert "stopped producing tarballs" in alert_text(rig)
    (saved,) = rig.store.saved.values()
    assert saved["hosts_overdue"] == ["h2"]
    assert saved["groups"]["h2"]["overdue"] is True
    assert saved["max_backup_age_s"] == 26 * HOUR


def test_a_host_gone_since_the_previous_run_has_vanished_and_the_alert_says_it_is_new() -> None:
    # given last night's sweep saw h1 and h2
    rig = FullSweepRig(backup("h1", "a", 2 * HOUR) + backup("h2", "b", 2 * HOUR), fleet=NIGHTLY_RULES)
    run(rig, nightly(), "night-1-invocation")
    assert rig.alerts.alerts == []
    # when h2's folder is gone by tonight's sweep
    for key in [k for k in rig.bucket.objects if k.startswith("backups/h2/")]:
        del rig.bucket.objects[key]
    rig.clock.now += timedelta(hours=12)
    result = run(rig, nightly(), "night-2-invocation")
    # then h2 has vanished, it breaches, and the alert says it is new since the last sweep
    assert result["hosts_vanished"] == ["h2"]
    assert rig.metrics.as_dict()["Problems"] == 1
    text = alert_text(rig)
    assert "VANISHED: host h2" in text
    assert "hosts vanished: new h2; still open none" in text


def test_the_alert_tells_tonights_findings_from_those_still_open() -> None:
    # given last night found a.tar's listing missing
    rig = FullSweepRig([obj("backups/h1/a.tar", age_s=DAY), *backup("h1", "ok", HOUR)], fleet=NIGHTLY_RULES)
    run(rig, nightly(), "night-1-invocation")
    rig.alerts.alerts.clear()
    rig.alerts.kinds.clear()
    # when tonight b.tar's listing is missing too
    rig.bucket.objects["backups/h1/b.tar"] = obj("backups/h1/b.tar", age_s=3 * HOUR)
    rig.clock.now += timedelta(days=1)
    run(rig, nightly(), "night-2-invocation")
    # then one finding is new and one is still open
    assert "findings: 1 new, 1 still open" in alert_text(rig)


def test_an_upload_the_event_path_never_saw_is_counted_and_named() -> None:
    # given two tarballs from last night; the event path checked only one of them
    seen = check_id_of("b", "backups/h1/seen.tar", "e1")
    objects = backup("h1", "seen", 10 * HOUR, "e1") + backup("h1", "unseen", 10 * HOUR, "e2")
    rig = FullSweepRig(objects, fleet=NIGHTLY_RULES, seen={seen})
    after_a_first_sweep(rig)
    # when the nightly sweep runs
    run(rig, nightly())
    # then TarballsNotChecked is 1, the alert names the key and the causes, and it is a problem
    assert rig.metrics.as_dict()["TarballsNotChecked"] == 1
    assert rig.metrics.as_dict()["Problems"] == 1
    text = alert_text(rig)
    assert "NOT CHECKED: 1 new tarballs" in text
    assert "s3://b/backups/h1/unseen.tar" in text
    assert "another region" in text
    assert "'Tarballs not checked'" in text
    assert "measured by FullSweep alone" in text  # the CLI's confirm cannot see it


def test_a_breach_the_cli_can_confirm_does_not_send_the_reader_to_fullsweep() -> None:
    rig = FullSweepRig(backup("h1", "a", 2 * HOUR) + backup("h2", "b", 7 * DAY), fleet=NIGHTLY_RULES)
    run(rig, nightly())
    text = alert_text(rig)
    assert "--max-backup-age 93600" in text
    assert "measured by FullSweep alone" not in text


def test_a_healthy_fleet_whose_uploads_were_all_checked_pages_nobody() -> None:
    objects = backup("h1", "a", 10 * HOUR, "e1")
    rig = FullSweepRig(objects, fleet=NIGHTLY_RULES, seen={check_id_of("b", "backups/h1/a.tar", "e1")})
    after_a_first_sweep(rig)
    run(rig, nightly())
    assert rig.alerts.alerts == []
    assert rig.metrics.as_dict()["TarballsNotChecked"] == 0
    assert rig.metrics.as_dict()["HostsOverdue"] == 0


def test_a_sub_prefix_run_neither_reads_nor_becomes_the_previous_run() -> None:
    # given a previous full run that saw h1 and h2
    rig = FullSweepRig(backup("h1", "a", HOUR) + backup("h2", "b", HOUR), fleet=NIGHTLY_RULES)
    run(rig, nightly(), "night-1-invocation")
    first = rig.history.latest
    # when a person sweeps only backups/h1/
    result = run(rig, SweepRequest("backups/h1/", 0), "manual-invocation")
    # then h2 is not called vanished, and the nightly run stays the one to compare with
    assert result["hosts_vanished"] == []
    assert rig.history.latest == first


def test_a_dry_run_is_not_remembered() -> None:
    rig = FullSweepRig(backup("h1", "a", HOUR), fleet=NIGHTLY_RULES)
    run(rig, SweepRequest(PREFIX, 0, dry_run=True))
    assert rig.history.latest is None
