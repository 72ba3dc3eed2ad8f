"""The sweep's text report for a terminal: findings by host, capped; hosts; the summary last.

Rendered from the JSON report's dict (as the HTML page is), so a million-finding sweep prints the
first N findings in key order, holding only those N, and the summary is the last thing on screen.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from typing import Any, TextIO

from .report import table

MAX_FINDINGS = 50  # the default of --max-findings
MAX_HOST_ROWS = 100  # past this many hosts, the table keeps those with problems


def host_of(key: str, prefix: str, groups: Mapping[str, Any]) -> str:
    """The report's group that holds `key` (the deepest one named in `groups`), else '.'."""
    parts = key[len(prefix) :].split("/")
    for depth in range(len(parts) - 1, 0, -1):
        candidate = "/".join(parts[:depth])
        if candidate in groups:
            return candidate
    return "."


def summary_line(report: Mapping[str, Any]) -> str:
    """The one line `--quiet` prints: problems against the threshold, the state, the coverage."""
    if not report.get("complete", True):
        state = "INCOMPLETE"
    else:
        state = "BREACH" if report["breach"] else "within threshold"
    return (
        f"problems {report['problems']} (threshold {report['threshold']}): {state}; "
        f"coverage {report['coverage']:.2%}; s3://{report['bucket']}/{report['prefix']}"
    )


def _findings(report: Mapping[str, Any], limit: int) -> tuple[list[Mapping[str, Any]], int]:
    count = 0

    def counted(findings: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
        nonlocal count
        for f in findings:
            count += 1
            yield f

    first = heapq.nsmallest(limit, counted(report.get("findings") or ()), key=lambda f: (f["key"], f["rule"]))
    return first, count


def _host_rows(groups: Mapping[str, Mapping[str, Any]]) -> tuple[list[tuple[str, ...]], int]:
    names = sorted(groups)
    if len(names) > MAX_HOST_ROWS:
        names = [n for n in names if groups[n].get("problems") or not groups[n].get("newest_complete")]
        names = names[:MAX_HOST_ROWS]
    rows: list[tuple[str, ...]] = []
    for name in names:
        g = groups[name]
        c = g["counts"]
        newest, complete = g.get("newest_tarball"), g.get("newest_complete")
        rows.append(
            (
                name + (" OVERDUE" if g.get("overdue") else ""),
                str(c["tarballs"]),
                str(c["ok"]),
                str(c["pending"]),
                str(g["problems"]),
                str(newest["last_modified"]) if newest else "-",
                str(complete["last_modified"]) if complete else "NONE",
            )
        )
    return rows, len(groups) - len(names)


def write_text_report(
    report: Mapping[str, Any], out: TextIO, max_findings: int = MAX_FINDINGS, health: Sequence[str] = ()
) -> None:
    """Findings (sorted by key, under their host, at most `max_findings`), hosts, the fleet's `health`
    lines (or, without them, the overdue and vanished hosts named in the report), then the summary."""
    groups: Mapping[str, Mapping[str, Any]] = report.get("groups") or {}
    prefix = str(report["prefix"])
    out.write(
        f"sweep of s3://{report['bucket']}/{prefix}: {report['objects_listed']} objects listed "
        f"in {report['duration_s']:.1f}s\n"
    )
    first, count = _findings(report, max_findings)
    if count:
        out.write(f"\nFINDINGS ({count}; by host, in key order)\n")
        for host, findings in groupby(first, key=lambda f: host_of(f["key"], prefix, groups)):
            out.write(f"{host}\n")
            for f in findings:
                out.write(f"  {f['verdict']:<10}  {f['key']}\n  {'':<10}  -> {f['sibling']}: {f['reason']}\n")
        if count > len(first):
            out.write(f"and {count - len(first)} more; see --format json\n")
    if groups:
        rows, hidden = _host_rows(groups)
        header = ("host", "tarballs", "ok", "pending", "problems", "newest tarball", "newest complete")
        out.write("\nHOSTS\n" + "\n".join(table(header, rows)) + "\n")
        if hidden:
            out.write(f"and {hidden} more hosts with no problem; see --format json\n")
    if health:
        out.write("\nFLEET\n" + "\n".join(health) + "\n")
    for flag in () if health else ("hosts_overdue", "hosts_vanished"):
        names = report.get(flag) or []
        if names:
            shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
            out.write(f"\n{flag.removeprefix('hosts_')}: {shown}\n")
    counts = report["counts"]
    lines = [
        "",
        "SUMMARY",
        "  ".join(f"{name} {n}" for name, n in counts.items()),
    ]
    checksums = report.get("checksums") or {}
    if any(checksums.values()):
        lines.append("manifest checksums: " + "  ".join(f"{name} {n}" for name, n in checksums.items()))
    lines.extend(f"warning: {w}" for w in report.get("warnings") or ())
    lines.append(summary_line(report))
    out.write("\n".join(lines) + "\n")
