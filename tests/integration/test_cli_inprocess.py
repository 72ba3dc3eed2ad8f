"""The CLI's `main()` called in-process against moto's in-process S3, seeded with the demo data set.

In-process so coverage counts the CLI; the same flows run as a real subprocess in tests/e2e.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from sibling_sentinel.cli import main as cli
from sibling_sentinel.cli.demo import (
    DEMO_BUCKET,
    DEMO_OBJECTS,
    DEMO_PREFIX,
    backdate,
    expected_verdicts,
    seed,
)
from sibling_sentinel.cli.main import main

SWEEP_URL = f"s3://{DEMO_BUCKET}/{DEMO_PREFIX}"
OK_TARBALL = "backups/alpha/2026-11-20.tar.zst"
MISSING_LISTING_TARBALL = "backups/alpha/2026-11-21.tar.zst"
NOT_A_TARBALL = "backups/alpha/2026-11-21.tar.zst.sha256"
PROBLEMS_IN_DEMO = sum(1 for v in expected_verdicts().values() if v in {"missing", "undersized", "stale"})


@pytest.fixture
def demo_bucket() -> Iterator[None]:
    """The demo data set, with the ages it asks for, in moto's in-process S3."""
    with mock_aws():
        seed(boto3.client("s3", region_name="us-east-1"))
        backdate(DEMO_BUCKET, {o.key: o.age_s for o in DEMO_OBJECTS}, datetime.now(UTC))
        yield


def url_of(key: str) -> str:
    return f"s3://{DEMO_BUCKET}/{key}"


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


# -- sweep -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_of_the_demo_data_breaches_the_default_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    # given the demo data set, whose problems are above the default threshold of 0

    # when it is swept with text output
    code = main(["sweep", SWEEP_URL], env={})

    # then it exits 1 and the text names the breach and every problem key
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"sweep of {SWEEP_URL}: 22 objects listed")
    assert f"problems {PROBLEMS_IN_DEMO} (threshold 0): BREACH" in out
    for key, verdict in expected_verdicts().items():
        if verdict != "ok":
            assert f"{verdict:<10}  {key}" in out


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_within_the_threshold_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # given the demo data set

    # when it is swept with a threshold above its problem count
    code = main(["sweep", SWEEP_URL, "--threshold", "10"], env={})

    # then it exits 0 and says it is within the threshold
    assert code == 0
    assert f"problems {PROBLEMS_IN_DEMO} (threshold 10): within threshold" in capsys.readouterr().out


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_json_prints_exactly_one_json_object_and_nothing_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given the demo data set

    # when it is swept with JSON output
    code = main(["sweep", SWEEP_URL, "--format", "json"], env={})

    # then stdout is one JSON object (json.loads rejects anything after it) and stderr is empty
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 1
    assert isinstance(report, dict)
    assert (report["bucket"], report["prefix"], report["breach"]) == (DEMO_BUCKET, DEMO_PREFIX, True)
    assert captured.err == ""


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_report_flag_writes_the_json_report_to_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the demo data set and a file path
    report_path = tmp_path / "report.json"

    # when it is swept with --report
    code = main(["sweep", SWEEP_URL, "--report", str(report_path)], env={})

    # then the file holds the JSON report of the sweep, while stdout keeps the text
    written = json.loads(report_path.read_text(encoding="utf-8"))
    assert code == 1
    assert written["bucket"] == DEMO_BUCKET
    assert {f["key"]: f["verdict"] for f in written["findings"]} == {
        k: v for k, v in expected_verdicts().items() if v != "ok"
    }
    assert capsys.readouterr().out.startswith(f"sweep of {SWEEP_URL}")


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_writes_no_progress_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    # given stderr is captured, so not a terminal

    # when the demo data set is swept
    main(["sweep", SWEEP_URL], env={})

    # then nothing is written to stderr
    assert capsys.readouterr().err == ""


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_writes_progress_when_stderr_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # given stderr is a terminal
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)

    # when the demo data set is swept
    main(["sweep", SWEEP_URL], env={})

    # then one progress line per page listed was written to it, with the rate and the time so far,
    # each clearing what a longer line left, and a newline after the last
    lines = terminal.getvalue().split("\r")[1:]
    last = (
        rf"listed 22 objects in {len(lines)} pages, \d+ tarballs judged; [\d,]+ objects/s, \d+\.\ds\x1b\[K\n"
    )
    assert re.fullmatch(last, lines[-1])


@pytest.mark.usefixtures("demo_bucket")
def test_a_sweep_interrupted_by_ctrl_c_exits_130_with_one_line_and_no_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an operator who presses Ctrl-C while the first page's progress is shown
    def interrupted(stream: object) -> object:
        def show(pages: int, report: object) -> None:
            raise KeyboardInterrupt

        return show

    monkeypatch.setattr(cli, "_progress", interrupted)
    monkeypatch.setattr("sys.stderr", Terminal())

    # when the sweep runs
    code = main(["sweep", SWEEP_URL, "--format", "json"], env={})

    # then it exits 130 (as a shell reports Ctrl-C) with one line, and prints no report
    assert code == 130
    assert capsys.readouterr().out == ""
    assert sys.stderr.getvalue().endswith("sibling-sentinel: interrupted; nothing was reported\n")  # type: ignore[attr-defined]


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_of_a_bucket_that_does_not_exist_exits_3_with_a_one_line_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a bucket nobody created

    # when it is swept
    code = main(["sweep", "s3://no-such-bucket/backups/"], env={})

    # then it exits 3 with one line on stderr naming the bucket and the cause, and nothing on stdout
    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(
        "sibling-sentinel: could not complete: listing s3://no-such-bucket/backups/"
    )
    assert "NoSuchBucket" in captured.err


# -- check -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_bucket")
def test_check_of_a_tarball_with_its_listing_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # given a tarball with a good listing next to it

    # when it is checked
    code = main(["check", url_of(OK_TARBALL)], env={})

    # then it exits 0 with the ok verdict
    assert code == 0
    assert capsys.readouterr().out.startswith(f"ok  {url_of(OK_TARBALL)}\n")


@pytest.mark.usefixtures("demo_bucket")
def test_check_of_a_tarball_without_its_listing_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    # given a day-old tarball with no listing

    # when it is checked
    code = main(["check", url_of(MISSING_LISTING_TARBALL)], env={})

    # then it exits 1 with the missing verdict
    assert code == 1
    assert capsys.readouterr().out.startswith(f"missing  {url_of(MISSING_LISTING_TARBALL)}\n")


@pytest.mark.usefixtures("demo_bucket")
def test_check_json_gives_the_verdict_and_each_sibling(capsys: pytest.CaptureFixture[str]) -> None:
    # given a day-old tarball with no listing

    # when it is checked with JSON output
    code = main(["check", url_of(MISSING_LISTING_TARBALL), "--format", "json"], env={})

    # then stdout is one JSON object with the verdict, the sibling looked for and the breach
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (result["key"], result["verdict"], result["breach"]) == (MISSING_LISTING_TARBALL, "missing", True)
    assert [s["sibling"] for s in result["siblings"]] == [MISSING_LISTING_TARBALL + ".list.txt"]


@pytest.mark.usefixtures("demo_bucket")
def test_check_of_a_key_that_is_not_a_tarball_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # given a key with none of the tarball extensions

    # when it is checked
    code = main(["check", url_of(NOT_A_TARBALL)], env={})

    # then it exits 2 saying it is not a tarball
    assert code == 2
    assert "is not a tarball" in capsys.readouterr().err


@pytest.mark.usefixtures("demo_bucket")
def test_check_of_a_key_that_does_not_exist_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    # given a tarball key nobody wrote
    key = "backups/alpha/never-written.tar"

    # when it is checked
    code = main(["check", url_of(key)], env={})

    # then it exits 3 with one line saying it does not exist
    err = capsys.readouterr().err
    assert code == 3
    assert err.count("\n") == 1
    assert f"{url_of(key)} does not exist" in err


# -- usage and configuration -----------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_bucket")
def test_a_url_that_is_not_s3_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # given an http URL where an s3:// URL belongs

    # when it is swept
    code = main(["sweep", "http://x"], env={})

    # then it exits 2 saying it is not an s3:// URL
    assert code == 2
    assert "'http://x' is not an s3:// URL" in capsys.readouterr().err


@pytest.mark.usefixtures("demo_bucket")
def test_a_negative_threshold_flag_exits_2_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    # given a threshold below 0

    # when a sweep is asked for with it
    code = main(["sweep", SWEEP_URL, "--threshold", "-1"], env={})

    # then it exits 2 naming --threshold, before any listing is printed
    captured = capsys.readouterr()
    assert code == 2
    assert "--threshold" in captured.err
    assert captured.out == ""


@pytest.mark.usefixtures("demo_bucket")
def test_a_threshold_variable_that_is_not_an_integer_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given PROBLEM_THRESHOLD is not a number

    # when a sweep is asked for
    code = main(["sweep", SWEEP_URL], env={"PROBLEM_THRESHOLD": "abc"})

    # then it exits 2 naming the variable and the bad value
    err = capsys.readouterr().err
    assert code == 2
    assert "PROBLEM_THRESHOLD" in err
    assert "'abc'" in err


@pytest.mark.usefixtures("demo_bucket")
def test_the_threshold_flag_beats_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    # given the environment allows no problems

    # when the flag allows ten
    code = main(["sweep", SWEEP_URL, "--threshold", "10"], env={"PROBLEM_THRESHOLD": "0"})

    # then the flag's threshold is the one used
    assert code == 0
    assert "(threshold 10): within threshold" in capsys.readouterr().out


@pytest.mark.usefixtures("demo_bucket")
def test_the_environment_beats_the_default_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    # given the environment allows ten problems and no flag is given

    # when the demo data set is swept
    code = main(["sweep", SWEEP_URL], env={"PROBLEM_THRESHOLD": "10"})

    # then the environment's threshold is used instead of the default of 0
    assert code == 0
    assert "(threshold 10): within threshold" in capsys.readouterr().out


def test_a_report_path_in_a_missing_folder_exits_2_before_sweeping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a --report path whose folder does not exist
    # when a sweep is asked for
    code = main(["sweep", "s3://demo-backups/backups/", "--report", str(tmp_path / "no" / "r.json")], env={})
    # then it is a usage error, named, and nothing was listed or printed on stdout
    captured = capsys.readouterr()
    assert code == 2
    assert "--report" in captured.err
    assert captured.out == ""


# -- what a person reads: --html, --max-findings, --quiet ----------------------------------------------


@pytest.mark.usefixtures("demo_bucket")
def test_sweep_writes_the_html_report_linking_the_json_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the demo data set
    page, report = tmp_path / "html" / "sweep.html", tmp_path / "sweep.json"
    page.parent.mkdir()

    # when it is swept with --html and --report
    code = main(["sweep", SWEEP_URL, "--html", str(page), "--report", str(report)], env={})

    # then the page holds every host's calendar row and links the JSON by its relative path
    assert code == 1, capsys.readouterr().err
    html = page.read_text(encoding="utf-8")
    for host in ("alpha", "beta", "gamma", "delta"):
        assert f'data-host="{host}"' in html
    assert 'href="../sweep.json"' in html
    assert "https://s3.console.aws.amazon.com/s3/object/demo-backups?region=us-east-1&amp;prefix=" in html


@pytest.mark.usefixtures("demo_bucket")
def test_html_into_a_folder_that_does_not_exist_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a page path in a folder that does not exist
    # when a sweep is asked for with it
    code = main(["sweep", SWEEP_URL, "--html", str(tmp_path / "no" / "r.html")], env={})

    # then it is a usage error that names the flag
    assert code == 2
    assert capsys.readouterr().err == (
        f"sibling-sentinel: error: --html {tmp_path / 'no' / 'r.html'}: "
        "its folder does not exist or is not writable\n"
    )


@pytest.mark.usefixtures("demo_bucket")
def test_quiet_prints_only_the_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    # given the demo data set

    # when it is swept with --quiet
    code = main(["sweep", SWEEP_URL, "--quiet"], env={})

    # then stdout is one line: the summary
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("\n") == 1
    assert out.startswith(f"problems {PROBLEMS_IN_DEMO} (threshold 0): BREACH; coverage ")


@pytest.mark.usefixtures("demo_bucket")
def test_max_findings_caps_the_text_but_never_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    # given the demo data set, which has more than two findings
    main(["sweep", SWEEP_URL, "--format", "json"], env={})
    every = json.loads(capsys.readouterr().out)["findings"]

    # when it is swept with --max-findings 2, as text and as JSON
    main(["sweep", SWEEP_URL, "--max-findings", "2"], env={})
    text = capsys.readouterr().out
    main(["sweep", SWEEP_URL, "--max-findings", "2", "--format", "json"], env={})
    capped_json = json.loads(capsys.readouterr().out)

    # then the text shows two and counts the rest; the JSON keeps every finding
    assert f"and {len(every) - 2} more; see --format json" in text
    assert len(capped_json["findings"]) == len(every)
