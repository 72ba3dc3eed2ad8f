"""The HTML page FullSweep writes beside each JSON report, and the small run history its trend reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .html_report import console_object_url

HISTORY_RUNS = 90  # runs kept in the history: three months of nightly sweeps, a few kB


@dataclass(frozen=True)
class ReportPage:
    """Where a run's HTML page is, in the three forms an alert's reader may want."""

    uri: str
    console_url: str

    @classmethod
    def at(cls, uri: str, region: str = "") -> ReportPage:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return cls(uri, console_object_url(bucket, key, region))

    @property
    def open_command(self) -> str:
        local = self.uri.rsplit("/", 1)[-1]
        return f"aws s3 cp {self.uri} {local} && (xdg-open {local} || open {local})"


def run_entry(report: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """What the trend needs of one run."""
    counts = report.get("counts") or {}
    return {
        "run_id": run_id,
        "started_at": report["started_at"],
        "coverage": report["coverage"],
        "problems": report["problems"],
        "tarballs": counts.get("tarballs", 0),
        "breach": report["breach"],
    }


def appended(
    runs: Sequence[Mapping[str, Any]], entry: Mapping[str, Any], keep: int = HISTORY_RUNS
) -> list[dict[str, Any]]:
    """The history with this run at its end; a run already there (a retried invocation) is replaced."""
    kept = [dict(run) for run in runs if run.get("run_id") != entry["run_id"]]
    kept.append(dict(entry))
    kept.sort(key=lambda run: str(run.get("started_at", "")))
    return kept[-keep:]
