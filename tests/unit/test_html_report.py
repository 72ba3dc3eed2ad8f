"""The HTML report: rendered from the JSON report's dict alone, bounded, and honest about what it shows."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sibling_sentinel.domain.core.rules import listing_rule
from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.core.verdicts import Policy, Verdict
from sibling_sentinel.domain.sweep.html_report import (
    MAX_CALENDAR_HOSTS,
    MAX_PAGE_BYTES,
    VERDICT_STYLE,
    console_object_url,
    render_html,
)
from sibling_sentinel.domain.sweep.reconcile import reconcile
from sibling_sentinel.domain.sweep.report import CALENDAR_NIGHTS, Group, Report

from fakes import NOW, obj

POLICY = Policy(TarballNaming(), (listing_rule(),), grace_s=7200)
DAY = 86400


def build(objects: list[Any]) -> Report:
    report = Report("bkt", "backups/", 0, 1, started_at=NOW)
    for outcome in reconcile([sorted(objects, key=lambda o: o.key)], POLICY, NOW):
        report.add(outcome)
    report.objects_listed = len(objects)
    return report


def nightly(host: str, nights: int, broken: dict[int, str] | None = None) -> list[Any]:
    """`nights` nightly backups of `host`, written at 02:00 UTC; `broken` maps a night to its fault."""
    objects = []
    for night in range(nights):
        age = night * DAY + 10 * 3600  # NOW is 12:00, so 02:00 on the night's own date
        key = f"backups/{host}/n{night:03}.tar"
        objects.append(obj(key, age_s=age))
        fault = (broken or {}).get(night)
        if fault == "missing":
            continue
        objects.append(obj(key + ".list.txt", 10 if fault == "undersized" else 300, age_s=age))
    return objects


def cells(page: str) -> dict[str, dict[str, str]]:
    """host -> {night: verdict}, read from the calendar's rows."""
    rows: dict[str, dict[str, str]] = {}
    for host, body in re.findall(r'<tr class="host[^"]*" data-host="([^"]*)">(.*?)</tr>', page):
        rows[host] = dict(re.findall(r'data-night="([^"]*)" data-verdict="([^"]*)"', body))
    return rows


def night(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).date().isoformat()


def test_the_report_json_carries_each_hosts_worst_verdict_for_each_of_the_last_30_nights() -> None:
    # given a host whose listing is missing two nights ago and too small four nights ago
    report = build(nightly("h1", 40, {2: "missing", 4: "undersized"}))

    # when the report is written as JSON
    calendar = json.loads(report.to_json())["calendar"]

    # then the calendar has 30 nights ending on the sweep's night, oldest first
    assert len(calendar["nights"]) == CALENDAR_NIGHTS
    assert calendar["nights"][-1] == night(0)
    assert calendar["nights"][0] == night(CALENDAR_NIGHTS - 1)
    # and each night holds that night's verdict
    h1 = dict(zip(calendar["nights"], calendar["hosts"]["h1"], strict=True))
    assert h1[night(2)] == "missing"
    assert h1[night(4)] == "undersized"
    assert Counter(h1.values()) == Counter({"ok": 28, "missing": 1, "undersized": 1})


def test_a_night_without_a_tarball_is_null_and_a_night_shows_its_worst_verdict() -> None:
    # given a host with two tarballs on one night, one of them missing its listing, and no tarball the next
    objects = [
        obj("backups/h1/a.tar", age_s=3 * DAY),
        obj("backups/h1/a.tar.list.txt", 300, age_s=3 * DAY),
        obj("backups/h1/b.tar", age_s=3 * DAY + 60),
        obj("backups/h1/c.tar", age_s=DAY),
        obj("backups/h1/c.tar.list.txt", 300, age_s=DAY),
    ]

    # when the calendar is worked out
    calendar = build(objects).calendar()
    h1 = dict(zip(calendar["nights"], calendar["hosts"]["h1"], strict=True))

    # then the shared night is missing, the empty night is None
    assert h1[night(3)] == "missing"
    assert h1[night(2)] is None
    assert h1[night(1)] == "ok"


def test_a_hosts_calendar_keeps_a_bounded_number_of_nights() -> None:
    # given a host with three years of nightly backups
    report = build(nightly("h1", 3 * 365))

    # when its calendar is kept
    (group,) = report.groups.values()

    # then it holds at most twice the calendar's nights, the newest ones
    assert len(group.nights) <= 2 * CALENDAR_NIGHTS
    assert max(group.nights) == NOW.toordinal()


def test_merging_two_shares_of_a_host_keeps_the_worse_verdict_of_each_night() -> None:
    # given one share of a host where a night was ok and another where it was missing
    ok, missing = Group("h1"), Group("h1")
    ok.nights[100] = Verdict.OK
    missing.nights[100] = Verdict.MISSING
    missing.nights[101] = Verdict.OK

    # when they are merged
    ok.merge(missing)

    # then the night is missing and the other night is kept
    assert ok.nights == {100: Verdict.MISSING, 101: Verdict.OK}


def test_a_checkpointed_report_keeps_its_calendar() -> None:
    # given a report with a broken night
    report = build(nightly("h1", 5, {1: "missing"}))

    # when it is checkpointed and resumed
    resumed = Report.resumed(json.loads(json.dumps(report.state())), [])

    # then its calendar is the same
    assert resumed.calendar() == report.calendar()


def test_the_page_shows_each_host_every_night_and_the_broken_nights_verdicts() -> None:
    # given a healthy host and a broken one
    report = build([*nightly("good", 30), *nightly("bad", 30, {0: "missing", 3: "undersized"})])

    # when the page is rendered from the JSON dict
    page = render_html(json.loads(report.to_json()))

    # then the calendar has a row per host, 30 nights each, and the broken nights carry their verdicts
    rows = cells(page)
    assert sorted(rows) == ["bad", "good"]
    assert {len(r) for r in rows.values()} == {30}
    assert rows["bad"][night(0)] == "missing"
    assert rows["bad"][night(3)] == "undersized"
    assert set(rows["good"].values()) == {"ok"}
    assert "BREACH: 2 problems, threshold 0" in page


def test_every_colour_comes_with_its_verdict_written_out() -> None:
    # given a report with every kind of finding
    report = build([*nightly("h1", 3, {0: "missing", 1: "undersized"}), obj("backups/h1/x.list.txt", 300)])

    # when the page is rendered
    page = render_html(report.to_dict())

    # then each verdict's badge carries its letter and its name, not only its colour
    for verdict, (colour, _, letter) in VERDICT_STYLE.items():
        assert f"background:{colour};color:" in page
        assert re.search(rf">{re.escape(letter)} {verdict}</span>", page), verdict


def test_overdue_and_vanished_hosts_stand_out_when_the_report_names_them() -> None:
    # given a report that names an overdue host and a vanished one (the freshness fields)
    report = build([*nightly("late", 30), *nightly("fine", 30)]).to_dict()
    report["hosts_overdue"] = ["late"]
    report["hosts_vanished"] = ["gone"]
    report["groups"]["late"]["overdue"] = True

    # when the page is rendered
    page = render_html(report)

    # then both are flagged rows of the calendar, and the vanished one has no backup on any night
    assert re.search(r'<tr class="host flagged" data-host="late">', page)
    assert re.search(r'<tr class="host flagged" data-host="gone">', page)
    assert not re.search(r'<tr class="host flagged" data-host="fine">', page)
    assert set(cells(page)["gone"].values()) == {"no backup"}
    assert "OVERDUE" in page
    assert "VANISHED" in page


def test_a_report_without_the_freshness_fields_or_a_calendar_still_renders() -> None:
    # given an older report: no calendar, no overdue or vanished hosts
    report = build(nightly("h1", 2)).to_dict()
    del report["calendar"]

    # when the page is rendered
    page = render_html(report)

    # then it says there is no calendar, and flags nothing
    assert "This report has no calendar" in page
    assert 'class="host flagged"' not in page


def test_keys_are_escaped_and_each_links_to_its_s3_console_page() -> None:
    # given a tarball whose name holds markup, an ampersand, a plus and unicode, and no listing
    key = "backups/h1/<b>r\u00e9sum\u00e9 & co+1 100%.tar"
    report = build([obj(key)])

    # when the page is rendered with the bucket's region
    page = render_html(report.to_dict(), region="eu-west-1")

    # then the key is shown escaped, never as markup, and its console link encodes it whole
    assert "<b>r" not in page
    assert "&lt;b&gt;r\u00e9sum\u00e9 &amp; co+1 100%.tar" in page
    url = console_object_url("bkt", key, "eu-west-1")
    assert url == (
        "https://s3.console.aws.amazon.com/s3/object/bkt?region=eu-west-1&prefix="
        "backups%2Fh1%2F%3Cb%3Er%C3%A9sum%C3%A9%20%26%20co%2B1%20100%25.tar"
    )
    assert f'href="{url.replace("&", "&amp;")}"' in page


def test_findings_come_problems_first_in_key_order_capped_with_the_rest_counted() -> None:
    # given 30 missing listings, an orphan that sorts first by key, and a pending tarball
    objects = [obj(f"backups/h1/{n:02}.tar") for n in range(30)]
    objects += [obj("backups/h1/00-orphan.tar.list.txt", 300), obj("backups/h1/zz.tar", age_s=60)]

    # when the page is rendered with 10 findings at most
    page = render_html(build(objects).to_dict(), json_href="run.json", max_findings=10)

    # then the first ten missing ones are shown in key order, and the other 22 counted, with the JSON
    shown = re.findall(r'<tr data-verdict="(\w+)"><td>.*?title="([^"]*)"', page)
    assert shown == [("missing", f"backups/h1/{n:02}.tar") for n in range(10)]
    assert 'and 22 more; see <a href="run.json">the JSON report</a>' in page


def test_the_page_of_a_huge_sweep_stays_under_its_stated_size() -> None:
    # given a report of 60,000 hosts and a million findings on 1,024-byte keys, streamed
    nights = [night(n) for n in range(29, -1, -1)]
    hosts = {f"host-{n:05}-" + "h" * 200: ["missing"] * 30 for n in range(60_000)}
    groups = {name: {"problems": 30, "counts": {"missing": 30}} for name in hosts}

    def findings() -> Iterator[dict[str, Any]]:
        for n in range(1_000_000):
            key = f"backups/host/{n:07}-" + "k" * 1000
            yield {
                "key": key[:1020] + ".tar",
                "verdict": "missing",
                "sibling": key + ".list.txt",
                "rule": "l",
            }

    report = {"bucket": "b", "prefix": "backups/", "groups": groups, "findings": findings()}
    report["calendar"] = {"nights": nights, "hosts": hosts}

    # when its page is rendered
    page = render_html(report)

    # then it stays under the cap, shows at most the calendar's hosts, and counts every finding
    assert len(page.encode("utf-8")) < MAX_PAGE_BYTES
    rows = len(cells(page))
    assert 0 < rows <= MAX_CALENDAR_HOSTS
    assert f"and {60_000 - rows} more hosts" in page
    assert "Findings (1000000)" in page


def test_the_trend_plots_one_point_per_run_and_marks_breaches() -> None:
    # given three runs of history, the middle one a breach
    runs = [
        {"run_id": str(n), "started_at": f"2026-11-2{n}T03:00:00Z", "coverage": c, "problems": p, "breach": b}
        for n, (c, p, b) in enumerate([(1.0, 0, False), (0.9, 40, True), (0.99, 0, False)])
    ]

    # when the page is rendered with that history
    page = render_html(build(nightly("h1", 2)).to_dict(), runs)

    # then the trend has a point per run, the breach in vermillion, each with its numbers as text
    points = re.findall(r'<circle [^>]*fill="(#[0-9A-F]+)"><title>([^<]*)</title>', page)
    assert [fill for fill, _ in points] == ["#009E73", "#D55E00", "#009E73"]
    assert "coverage 90.00%, 40 problems (BREACH)" in points[1][1]


def test_with_fewer_than_two_runs_the_trend_says_so() -> None:
    # given no history

    # when the page is rendered
    page = render_html(build(nightly("h1", 2)).to_dict(), [])

    # then the trend says there is none yet, and draws nothing
    assert "no run history" in page
    assert "<svg" not in page


def test_the_page_fetches_nothing_from_anywhere() -> None:
    # given a page
    page = render_html(build(nightly("h1", 2)).to_dict())

    # then its content security policy allows no fetch, and it links no stylesheet, script or image
    assert "default-src 'none'" in page
    assert not re.search(r"<(link|img)\b|<script [^>]*src=", page)
