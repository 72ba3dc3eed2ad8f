"""FullSweep's HTML page and run history: written beside each report, and pointed to by the alert."""

from __future__ import annotations

import dataclasses
from typing import Any

from sibling_sentinel.domain.sweep.full_sweep import ALERT_BREACH, SweepRequest, page_key, report_key
from sibling_sentinel.domain.sweep.html_report import console_object_url
from sibling_sentinel.domain.sweep.report_pages import HISTORY_RUNS, ReportPage, appended

from fakes import NOW, FakeReportPages, FullSweepRig, obj

PREFIX = "backups/"
HISTORY = "sibling-sentinel/reports/history.json"


class Rig(FullSweepRig):
    def __init__(self, objects: list[Any], runs: list[dict[str, Any]] | None = None) -> None:
        super().__init__(objects)
        self.pages = FakeReportPages(runs=runs)
        self.service = dataclasses.replace(self.service, pages=self.pages, region="eu-west-1")

    def run(self, request: SweepRequest, request_id: str = "0123456789abcdef") -> dict[str, Any]:
        return self.service.run(request, request_id, lambda: 900.0)


def broken() -> list[Any]:
    return [obj("backups/h1/a.tar"), obj("backups/h1/a.tar.list.txt", 300), obj("backups/h2/b.tar")]


def nightly() -> SweepRequest:
    return SweepRequest(PREFIX, 0, scheduled=True)


def test_a_reported_run_writes_its_html_page_beside_its_json_report() -> None:
    # given a fleet with a missing listing
    rig = Rig(broken())

    # when the nightly sweep runs
    result = rig.run(nightly())

    # then the page is at the JSON report's key with .html, and links that report's console page by its URI
    (json_key,) = rig.store.saved
    (html_key,) = rig.pages.pages
    assert json_key.endswith(".json")
    assert html_key == json_key.removesuffix(".json") + ".html"
    assert result["report_html"] == f"s3://reports/{html_key}"
    page = rig.pages.pages[html_key]
    console = console_object_url("reports", json_key, "eu-west-1").replace("&", "&amp;")
    assert f'<a href="{console}">the JSON report</a> (<code>s3://reports/{json_key}</code>)' in page
    assert 'data-host="h2"' in page


def test_the_page_key_is_the_report_key_as_html() -> None:
    # given a run id and a start time
    # when both keys are made
    # then they differ only by extension
    assert page_key("r/", NOW, "run") == report_key("r/", NOW, "run").removesuffix(".json") + ".html"


def test_each_nightly_run_joins_the_history_and_the_trend_shows_it() -> None:
    # given a history of two earlier runs
    earlier = [
        {
            "run_id": "a",
            "started_at": "2026-11-20T03:00:00Z",
            "coverage": 1.0,
            "problems": 0,
            "breach": False,
        },
        {
            "run_id": "b",
            "started_at": "2026-11-21T03:00:00Z",
            "coverage": 1.0,
            "problems": 0,
            "breach": False,
        },
    ]
    rig = Rig(broken(), runs=earlier)

    # when the nightly sweep runs
    rig.run(nightly())

    # then the history holds three runs, this one last, and the page plots three points
    runs = rig.pages.kept[HISTORY]
    assert [r["run_id"] for r in runs][:2] == ["a", "b"]
    assert (runs[-1]["problems"], runs[-1]["breach"], runs[-1]["tarballs"]) == (1, True, 2)
    (page,) = rig.pages.pages.values()
    assert page.count("<circle ") == 3


def test_a_run_of_one_host_neither_joins_nor_shows_the_fleet_history() -> None:
    # given a history of one run
    earlier = [{"run_id": "a", "started_at": "2026-11-20T03:00:00Z", "coverage": 1.0, "problems": 0}]
    rig = Rig(broken(), runs=earlier)

    # when a person sweeps one host
    rig.run(SweepRequest("backups/h2/", 0))

    # then the history is not written and the page has no trend
    assert rig.pages.kept == {}
    (page,) = rig.pages.pages.values()
    assert "no run history" in page


def test_a_dry_run_writes_no_page() -> None:
    # given a fleet
    rig = Rig(broken())

    # when a dry run sweeps it
    rig.run(SweepRequest(PREFIX, 0, dry_run=True))

    # then no page and no history
    assert rig.pages.pages == {}
    assert rig.pages.kept == {}


def test_the_breach_alert_says_where_the_html_report_is_and_how_to_open_it() -> None:
    # given a fleet with a missing listing
    rig = Rig(broken())

    # when the nightly sweep runs
    result = rig.run(nightly())

    # then the one alert carries the page's URI, its console URL and a command that opens it
    assert rig.alerts.kinds == [ALERT_BREACH]
    ((_, text),) = rig.alerts.alerts
    uri = result["report_html"]
    page = ReportPage.at(uri, "eu-west-1")
    assert f"HTML report (backup calendar, worst hosts, findings): {uri}" in text
    assert f"in the S3 console: {page.console_url}" in text
    assert page.console_url.startswith(
        "https://s3.console.aws.amazon.com/s3/object/reports?region=eu-west-1&"
    )
    name = uri.rsplit("/", 1)[-1]
    assert f"open it: aws s3 cp {uri} {name} && (xdg-open {name} || open {name})" in text


def test_a_retried_run_replaces_its_own_history_entry() -> None:
    # given a history that already holds this run
    runs = [{"run_id": "r1", "started_at": "2026-11-22T03:00:00Z", "problems": 5}]

    # when the run is appended again
    kept = appended(runs, {"run_id": "r1", "started_at": "2026-11-22T03:00:00Z", "problems": 1})

    # then it is there once, with the new numbers
    assert kept == [{"run_id": "r1", "started_at": "2026-11-22T03:00:00Z", "problems": 1}]


def test_the_history_keeps_only_the_newest_runs() -> None:
    # given a full history
    runs = [
        {"run_id": str(n), "started_at": f"2026-01-01T00:{n // 60:02}:{n % 60:02}Z"}
        for n in range(HISTORY_RUNS)
    ]

    # when one more run is appended
    kept = appended(runs, {"run_id": "new", "started_at": "2026-12-01T00:00:00Z"})

    # then the oldest is dropped
    assert len(kept) == HISTORY_RUNS
    assert kept[0]["run_id"] == "1"
    assert kept[-1]["run_id"] == "new"
