"""`make demo` exits 0 only when the overdue hosts, the vanished host and the unchecked upload are caught."""

from __future__ import annotations

import io
from typing import Any

from sibling_sentinel.cli.demo import OVERDUE, VANISHED, _fleet_check

UNSEEN = "backups/host-15/2026-11-30.tar.zst"


def caught() -> tuple[dict[str, Any], dict[str, list[float]]]:
    report = {
        "hosts_overdue": list(OVERDUE),
        "hosts_vanished": [VANISHED],
        "tarballs_not_checked": 1,
        "not_checked": [UNSEEN],
    }
    return report, {"HostsOverdue": [float(len(OVERDUE))], "TarballsNotChecked": [1.0]}


def test_every_fault_caught_and_counted_passes() -> None:
    report, metrics = caught()
    assert _fleet_check(report, UNSEEN, metrics, io.StringIO()) == 0


def test_a_missed_overdue_host_fails_the_demo() -> None:
    report, metrics = caught()
    report["hosts_overdue"] = ["alpha"]
    out = io.StringIO()
    assert _fleet_check(report, UNSEEN, metrics, out) == 3
    assert "expected hosts overdue" in out.getvalue()


def test_an_unchecked_upload_not_caught_fails_the_demo() -> None:
    report, metrics = caught()
    report["tarballs_not_checked"], report["not_checked"] = 0, []
    metrics["TarballsNotChecked"] = [0.0]
    out = io.StringIO()
    assert _fleet_check(report, UNSEEN, metrics, out) == 3
    assert "alone not checked" in out.getvalue()
    assert "expected TarballsNotChecked 1" in out.getvalue()


def test_a_vanished_host_not_caught_fails_the_demo() -> None:
    report, metrics = caught()
    report["hosts_vanished"] = []
    assert _fleet_check(report, UNSEEN, metrics, io.StringIO()) == 3
