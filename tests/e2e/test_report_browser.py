"""The demo's HTML report, opened in a real browser: Debian's headless Chromium.

The test installs Chromium with apt-get when it is missing (CI runs as root with apt reachable). It
fails on any console message (a script error, a blocked fetch: the page's CSP allows none), checks
the DOM for what the report claims, and saves a screenshot beside the test output, or where
`REPORT_SCREENSHOT` says (that is how docs/report.png is made).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sibling_sentinel.cli.demo import DAY, HOSTS, HOUR, NIGHTS, VANISHED, fleet

pytestmark = pytest.mark.e2e

CLI = Path(sys.executable).parent / "sibling-sentinel"
DEMO_HOSTS = ("alpha", "beta", "delta", "gamma")  # the edge-case keys' hosts, beside the fleet's


def chromium() -> str:
    """Chromium's path, installed from Debian's package first when it is missing."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, capture_output=True)
        found = shutil.which("chromium")
    assert found is not None, "apt-get installed chromium, yet it is not on PATH"
    return found


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a local file, with console messages logged to stderr."""
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "CONSOLE" in line]


class Calendar(HTMLParser):
    """The calendar's rows as the browser left them: host -> {night: verdict}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.flagged: set[str] = set()
        self._host: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "tr" and "host" in classes:
            self._host = a["data-host"] or ""
            self.rows[self._host] = {}
            if "flagged" in classes:
                self.flagged.add(self._host)
        elif tag == "td" and "cell" in classes and self._host is not None:
            self.rows[self._host][a["data-night"] or ""] = a["data-verdict"] or ""


def expected_broken_cells(now: datetime) -> dict[str, dict[str, str]]:
    """From the demo's data set alone: the nights of the fleet whose tarball is not ok."""
    broken: dict[str, dict[str, str]] = defaultdict(dict)
    for o in fleet(now):
        host = o.key.split("/")[1]
        if o.expect not in (None, "ok", "orphan", "pending"):
            night = (now - timedelta(seconds=o.age_s)).date().isoformat()
            broken[host][night] = o.expect
    return broken


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    """The demo run as a person runs it, its HTML report copied to a file."""
    page = tmp_path_factory.mktemp("demo") / "report.html"
    started = datetime.now(UTC)
    result = subprocess.run(
        [str(CLI), "demo", "--html", str(page)], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert str(page) in result.stdout  # the demo prints where the page is
    return page, started


def test_the_demo_report_renders_without_a_console_message(
    demo_page: tuple[Path, datetime], tmp_path: Path
) -> None:
    # given the demo's HTML report
    page, _ = demo_page

    # when Chromium opens it and takes a screenshot
    shot = Path(os.environ.get("REPORT_SCREENSHOT") or tmp_path / "report.png")
    result = browse(
        page, tmp_path / "profile", "--hide-scrollbars", "--window-size=1400,1500", f"--screenshot={shot}"
    )

    # then nothing went to the console, and the screenshot is a PNG
    assert result.returncode == 0, result.stderr[-3000:]
    assert console_lines(result) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")


def test_the_calendar_shows_every_host_every_night_and_the_broken_nights(
    demo_page: tuple[Path, datetime], tmp_path: Path
) -> None:
    # given the demo's HTML report
    page, started = demo_page

    # when Chromium loads it and prints its DOM
    result = browse(page, tmp_path / "profile", "--dump-dom")
    calendar = Calendar()
    calendar.feed(result.stdout)

    # then there is one row per host, the vanished one too, each with the last 30 nights
    assert console_lines(result) == []
    assert sorted(calendar.rows) == sorted((*HOSTS, *DEMO_HOSTS, VANISHED))
    assert {len(nights) for nights in calendar.rows.values()} == {NIGHTS}
    # and every broken night of the fleet carries its verdict
    for host, nights in expected_broken_cells(started).items():
        for night, verdict in nights.items():
            assert calendar.rows[host][night] == verdict, (host, night)
    # and host-17, which stopped backing up a week ago, has no backup on its last nights
    last = (started - timedelta(seconds=DAY - 2 * HOUR)).date().isoformat()
    assert calendar.rows["host-17"][last] == "no backup"
    # and the vanished host, gone tonight, has no backup on any night shown
    assert set(calendar.rows[VANISHED].values()) == {"no backup"}


def test_a_script_error_reaches_the_console_check(tmp_path: Path) -> None:
    # given a page whose script fails
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction()</script></body></html>")

    # when Chromium opens it
    result = browse(page, tmp_path / "profile", "--dump-dom")

    # then the error is among the console lines the report's test fails on
    assert any("undefinedFunction" in line for line in console_lines(result))
