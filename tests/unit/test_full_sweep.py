"""FullSweep as a plain service over fakes: what it keeps, counts, puts and sends, and when it raises."""

from __future__ import annotations

from typing import Any

import pytest

from sibling_sentinel.domain.sweep.full_sweep import (
    ALERT_BREACH,
    ALERT_INCOMPLETE,
    SWEEP_COMPLETED,
    SweepIncompleteError,
    SweepRequest,
    ThresholdBreachedError,
    breach_alert,
    report_key,
)
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.errors import ConfigError

from fakes import (
    NOW,
    FullSweepRig,
    obj,
)
from fixtures import event

PREFIX = "backups/"
SWEEP_METRICS = {
    "TarballsScanned",
    "ObjectsListed",
    "SiblingsMissing",
    "SiblingsUndersized",
    "SiblingsStale",
    "ManifestsInvalid",
    "OrphanSiblings",
    "Problems",
    "CoveragePercent",
    "SweepDurationSeconds",
    "SweepCompleted",
}


class Rig(FullSweepRig):
    def run(self, request: SweepRequest, time_left: list[float] | None = None) -> dict[str, Any]:
        left = iter(time_left or [])
        return self.service.run(request, "0123456789abcdef", lambda: next(left, 900.0))


def healthy() -> list[Any]:
    return [obj("backups/h1/a.tar"), obj("backups/h1/a.tar.list.txt", 300)]


def broken() -> list[Any]:
    return [
        *healthy(),
        obj("backups/h2/b.tar"),  # missing listing
        obj("backups/h2/c.tar"),
        obj("backups/h2/c.tar.list.txt", 3),  # undersized
    ]


def nightly() -> SweepRequest:
    return SweepRequest.from_event(event("full-sweep-scheduled.json"), PREFIX, 0)


# --- the request ---------------------------------------------------------------------------------


def test_scheduled_events_sweep_the_watched_prefix_and_never_fail_on_breach() -> None:
    for raw in (event("full-sweep-scheduled.json"), event("eventbridge-scheduled.json")):
        request = SweepRequest.from_event(raw, PREFIX, 2)
        assert request == SweepRequest(PREFIX, 2, scheduled=True)


def test_manual_payload_from_design_is_read_field_by_field() -> None:
    request = SweepRequest.from_event(
        {"prefix": "backups/host1", "threshold": 3, "dry_run": True, "fail_on_breach": True}, PREFIX, 0
    )
    assert request == SweepRequest("backups/host1/", 3, dry_run=True, fail_on_breach=True)


def test_empty_manual_payload_means_the_nightly_sweep_by_hand() -> None:
    assert SweepRequest.from_event({}, PREFIX, 5) == SweepRequest(PREFIX, 5)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "must be a JSON object"),
        ({"prefx": "backups/"}, "unknown sweep payload field"),
        ({"threshold": -1}, "'threshold' must be an integer, 0 or more"),
        ({"threshold": True}, "'threshold' must be an integer"),
        ({"threshold": "3"}, "'threshold' must be an integer"),
        ({"dry_run": "yes"}, "'dry_run' must be a bool"),
        ({"prefix": "other/"}, "outside the watched prefix"),
    ],
)
def test_bad_payloads_are_refused_with_the_field_named(payload: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SweepRequest.from_event(payload, PREFIX, 0)


def test_report_key_is_dated_by_the_sweep_start() -> None:
    assert report_key("r", NOW, "run-1") == "r/2026/11/22/run-1.json"


# --- a complete sweep ---------------------------------------------------------------------------


def test_clean_nightly_sweep_keeps_the_report_counts_the_heartbeat_and_sends_no_alert() -> None:
    # given a healthy bucket
    rig = Rig(healthy())
    # when the nightly sweep runs
    result = rig.run(nightly())
    # then the report is kept under its dated key, every sweep metric went out, and nobody was paged
    assert (
        result["report"] == "s3://reports/sibling-sentinel/reports/2026/11/22/20261122T120000Z-01234567.json"
    )
    (saved,) = rig.store.saved.values()
    assert saved["complete"] is True
    assert saved["counts"]["ok"] == 1
    assert set(rig.metrics.names()) == SWEEP_METRICS
    assert rig.metrics.as_dict()["SweepCompleted"] == 1
    assert rig.metrics.as_dict()["CoveragePercent"] == 100.0
    assert rig.alerts.alerts == []
    ((detail_type, detail),) = rig.bus.events
    assert detail_type == SWEEP_COMPLETED
    assert detail["problems"] == 0
    assert detail["report"] == result["report"]


def test_breach_sends_one_alert_for_a_person_with_counts_groups_findings_and_the_report() -> None:
    # given a bucket with a missing and an undersized listing
    rig = Rig(broken())
    # when the nightly sweep runs
    result = rig.run(nightly())
    # then it returns (a schedule never raises) and sends exactly one breach alert
    assert result["breach"] is True
    assert rig.alerts.kinds == [ALERT_BREACH]
    ((subject, text),) = rig.alerts.alerts
    assert subject == "sibling-sentinel: 2 backup problems in s3://b"
    assert "missing 1, undersized 1" in text
    assert "h2" in text.split("Worst groups")[1]
    assert "s3://b/backups/h2/b.tar" in text
    assert result["report"] in text
    assert rig.metrics.as_dict()["Problems"] == 2
    assert rig.metrics.as_dict()["SiblingsMissing"] == 1
    assert rig.metrics.as_dict()["SiblingsUndersized"] == 1


def test_scheduled_run_ignores_fail_on_breach_but_a_manual_one_raises_after_reporting() -> None:
    # given a breached bucket
    rig = Rig(broken())
    # when a person runs it with fail_on_breach
    with pytest.raises(ThresholdBreachedError, match="2 problems > threshold 0"):
        rig.run(SweepRequest.from_event({"fail_on_breach": True}, PREFIX, 0))
    # then everything was still reported before the error
    assert len(rig.store.saved) == 1
    assert rig.alerts.kinds == [ALERT_BREACH]
    assert [t for t, _ in rig.bus.events] == [SWEEP_COMPLETED]


def test_breach_within_a_raised_threshold_is_quiet() -> None:
    rig = Rig(broken())
    result = rig.run(SweepRequest.from_event({"threshold": 2, "fail_on_breach": True}, PREFIX, 0))
    assert result["breach"] is False
    assert rig.alerts.alerts == []


def test_dry_run_writes_counts_puts_and_sends_nothing() -> None:
    rig = Rig(broken())
    result = rig.run(SweepRequest.from_event({"dry_run": True}, PREFIX, 0))
    assert result["problems"] == 2
    assert result["dry_run"] is True
    assert result["report"] is None
    assert (rig.store.saved, rig.metrics.values, rig.bus.events, rig.alerts.alerts) == ({}, [], [], [])


def test_sub_prefix_sweep_reports_but_cannot_feed_the_alarms() -> None:
    # given a manual sweep of one host
    rig = Rig(broken())
    result = rig.run(SweepRequest.from_event({"prefix": "backups/h2/"}, PREFIX, 0))
    # then it keeps its report and puts its event, but emits no metric (not even the heartbeat)
    assert result["prefix"] == "backups/h2/"
    assert len(rig.store.saved) == 1
    assert rig.metrics.values == []
    assert [t for t, _ in rig.bus.events] == [SWEEP_COMPLETED]


# --- running out of time ---------------------------------------------------------------------------


def test_sweep_that_runs_out_of_time_is_an_error_with_a_partial_report_never_a_pass() -> None:
    # given a bucket listed one object a page, and time that runs short after two pages
    rig = Rig(broken(), page_size=1)
    # when the nightly sweep runs
    with pytest.raises(SweepIncompleteError, match="stopped after 2 objects"):
        rig.run(nightly(), time_left=[600.0, 30.0])
    # then the partial report says complete: false, with a warning
    (saved,) = rig.store.saved.values()
    assert saved["complete"] is False
    assert saved["warnings"][0].startswith("INCOMPLETE")
    # and there is no heartbeat, no "Sweep Completed" event, and one alert of its own kind
    assert rig.metrics.names() == ["SweepIncomplete"]
    assert rig.bus.events == []
    assert rig.alerts.kinds == [ALERT_INCOMPLETE]
    assert "NOT a pass" in rig.alerts.alerts[0][1]


def test_incomplete_dry_run_still_raises() -> None:
    rig = Rig(broken(), page_size=1)
    with pytest.raises(SweepIncompleteError):
        rig.run(SweepRequest.from_event({"dry_run": True}, PREFIX, 0), time_left=[1.0])
    assert rig.store.saved == {}


def test_incomplete_sweep_judges_no_tarball_whose_folder_it_did_not_finish() -> None:
    # given a tarball whose listing is on the next page
    rig = Rig(healthy(), page_size=1)
    # when time runs out after the first page
    with pytest.raises(SweepIncompleteError):
        rig.run(nightly(), time_left=[1.0])
    # then the tarball was not called "missing" on half a folder
    (saved,) = rig.store.saved.values()
    assert saved["counts"]["tarballs"] == 0
    assert saved["findings"] == []


def test_alert_subject_stays_ascii_and_short_for_any_bucket() -> None:
    report = Report("b" * 63, "backups/", 0)
    subject, _ = breach_alert(report, "s3://x/y")
    assert len(subject) < 100
    assert subject.isascii()
