"""The text report for a terminal: findings sorted by key under their host, capped, and the summary last."""

from __future__ import annotations

import io
import json
from typing import Any

from sibling_sentinel.domain.core.rules import listing_rule
from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.core.verdicts import Policy
from sibling_sentinel.domain.sweep.reconcile import reconcile
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.domain.sweep.text_report import MAX_HOST_ROWS, host_of, summary_line, write_text_report

from fakes import NOW, obj

POLICY = Policy(TarballNaming(), (listing_rule(),), grace_s=7200)


def report_of(objects: list[Any]) -> dict[str, Any]:
    report = Report("bkt", "backups/", 0, 1, started_at=NOW)
    for outcome in reconcile([sorted(objects, key=lambda o: o.key)], POLICY, NOW):
        report.add(outcome)
    parsed: dict[str, Any] = json.loads(report.to_json())
    return parsed


def text(report: dict[str, Any], max_findings: int = 50) -> str:
    out = io.StringIO()
    write_text_report(report, out, max_findings)
    return out.getvalue()


def test_findings_are_in_key_order_under_their_host_whatever_order_the_sweep_gave() -> None:
    # given missing listings on two hosts, and findings in the order interleaved shards give them
    report = report_of([obj("backups/h2/b.tar"), obj("backups/h1/z.tar"), obj("backups/h1/a.tar")])
    report["findings"].reverse()

    # when it is printed
    lines = text(report).splitlines()

    # then each host's findings follow its name, in key order
    start = lines.index("FINDINGS (3; by host, in key order)")
    shown = [line.strip() for line in lines[start + 1 : start + 8]]
    assert shown[0] == "h1"
    assert shown[1].split() == ["missing", "backups/h1/a.tar"]
    assert shown[3].split() == ["missing", "backups/h1/z.tar"]
    assert shown[5] == "h2"
    assert shown[6].split() == ["missing", "backups/h2/b.tar"]


def test_findings_past_the_cap_are_counted_and_point_to_the_json() -> None:
    # given 12 missing listings
    report = report_of([obj(f"backups/h1/{n:02}.tar") for n in range(12)])

    # when at most 5 are printed
    printed = text(report, max_findings=5)

    # then the first five by key are there, and the rest counted
    assert "backups/h1/04.tar" in printed
    assert "backups/h1/05.tar" not in printed
    assert "and 7 more; see --format json\n" in printed


def test_the_text_ends_with_the_summary_line() -> None:
    # given a sweep with a problem
    report = report_of([obj("backups/h1/a.tar")])

    # when it is printed
    lines = text(report).splitlines()

    # then its last line is the summary, after the counts
    assert lines[-1] == "problems 1 (threshold 0): BREACH; coverage 0.00%; s3://bkt/backups/"
    assert lines[-2].startswith("tarballs 1  ok 0  pending 0  missing 1")
    assert lines[-3] == "SUMMARY"


def test_the_summary_line_says_incomplete_for_a_sweep_that_did_not_finish() -> None:
    # given a report of a sweep that stopped early, within the threshold so far
    report = {"complete": False, "breach": False, "problems": 0, "threshold": 0, "coverage": 1.0}

    # when its summary line is made
    line = summary_line({**report, "bucket": "b", "prefix": "p/"})

    # then it says incomplete, never within threshold
    assert line == "problems 0 (threshold 0): INCOMPLETE; coverage 100.00%; s3://b/p/"


def test_a_big_fleets_host_table_keeps_the_hosts_with_problems() -> None:
    # given more hosts than the table shows, one of them broken
    objects = []
    for n in range(MAX_HOST_ROWS + 20):
        objects += [obj(f"backups/h{n:03}/a.tar"), obj(f"backups/h{n:03}/a.tar.list.txt", 300)]
    objects.append(obj("backups/h050/b.tar"))

    # when it is printed
    printed = text(report_of(objects))

    # then only the broken host is in the table, and the others are counted
    table = printed[printed.index("HOSTS\n") :].splitlines()
    assert table[2].split()[0] == "h050"
    assert f"and {MAX_HOST_ROWS + 19} more hosts with no problem; see --format json" in printed


def test_overdue_and_vanished_hosts_are_named_when_the_report_has_them() -> None:
    # given a report naming an overdue host and a vanished one
    report = report_of([obj("backups/h1/a.tar"), obj("backups/h1/a.tar.list.txt", 300)])
    report["hosts_overdue"], report["hosts_vanished"] = ["h1"], ["gone"]
    report["groups"]["h1"]["overdue"] = True

    # when it is printed
    printed = text(report)

    # then both are named, and the host table marks the overdue one
    assert "\noverdue: h1\n" in printed
    assert "\nvanished: gone\n" in printed
    assert "h1 OVERDUE" in printed


def test_a_key_above_the_group_depth_belongs_to_the_top_group() -> None:
    # given a tarball directly under the prefix, and a host h1
    # when its host is looked up
    # then it is '.', and a deeper key is h1's
    assert host_of("backups/loose.tar", "backups/", {"h1": {}}) == "."
    assert host_of("backups/h1/sub/a.tar", "backups/", {"h1": {}}) == "h1"
