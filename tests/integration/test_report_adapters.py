"""The report store, the checkpoint store and the self-invoker against moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sibling_sentinel.adapters.reports import LambdaInvoker, S3Checkpoints, S3ReportStore
from sibling_sentinel.config import Config
from sibling_sentinel.domain.sweep.checkpoint import Checkpoint
from sibling_sentinel.domain.sweep.full_sweep import AlreadyReportedError
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.errors import BucketNotFoundError, StorageError

from fakes import NOW, obj

ODD = "backups/h/résumé & <notes> 100%+x.tar"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="reports")
        yield client


def paused_report() -> Report:
    report = Report("b", "backups/", 0, started_at=NOW)
    report.add(Config().policy().judge(obj(ODD), {}, NOW))
    report.complete, report.paused = False, {"reconciler": {"last_key": ODD}}
    return report


def test_a_report_is_written_once_and_a_second_write_is_refused(s3: Any) -> None:
    # given a report already written for a run
    store = S3ReportStore(s3, "reports")
    uri = store.put("r/2026/11/22/run.json", paused_report())
    # when a duplicate invocation writes the same key
    with pytest.raises(AlreadyReportedError):
        store.put("r/2026/11/22/run.json", paused_report())
    # then the first stays
    assert uri == "s3://reports/r/2026/11/22/run.json"
    assert b'"complete": false' in s3.get_object(Bucket="reports", Key="r/2026/11/22/run.json")["Body"].read()


def test_a_report_to_a_missing_bucket_is_an_error(s3: Any) -> None:
    with pytest.raises(BucketNotFoundError):
        S3ReportStore(s3, "no-such-bucket").put("k.json", paused_report())


def test_a_checkpoint_round_trips_with_odd_keys_and_is_deleted(s3: Any) -> None:
    # given a paused run whose finding has a key that needs escaping
    store = S3Checkpoints(s3, "reports")
    checkpoint = Checkpoint("run", 3, {"prefix": "backups/"}, paused_report())
    # when it is saved and read back
    store.save("r/checkpoints/run/0003.jsonl", checkpoint)
    back = store.load("r/checkpoints/run/0003.jsonl")
    # then it is the same run, with the same findings and open state
    assert (back.run_id, back.invocation, back.request) == ("run", 3, {"prefix": "backups/"})
    assert [f["key"] for f in back.report.findings] == [ODD]
    assert back.report.paused == {"reconciler": {"last_key": ODD}}
    store.delete("r/checkpoints/run/0003.jsonl")
    assert s3.list_objects_v2(Bucket="reports").get("Contents", []) == []


def test_a_missing_checkpoint_is_an_error(s3: Any) -> None:
    with pytest.raises(StorageError, match="NoSuchKey"):
        S3Checkpoints(s3, "reports").load("r/checkpoints/none.jsonl")


def test_invoking_a_function_that_does_not_exist_is_an_error() -> None:
    with mock_aws(), pytest.raises(StorageError, match="ResourceNotFound"):
        LambdaInvoker(boto3.client("lambda")).invoke_async("nope", {"checkpoint": "k"})


def test_html_pages_are_written_as_html_and_the_history_reads_back(s3: Any) -> None:
    # given the report pages store
    from sibling_sentinel.adapters.reports import S3ReportPages

    pages = S3ReportPages(s3, "reports")

    # when a page and a history are written, and the history read back
    uri = pages.put_page("r/2026/11/22/run.html", "<!DOCTYPE html><p>r\u00e9sum\u00e9</p>")
    before = pages.history("r/history.json")
    pages.keep_history("r/history.json", [{"run_id": "run", "coverage": 0.5}])

    # then the page is UTF-8 HTML, and the history was empty before and holds the run after
    head = s3.get_object(Bucket="reports", Key="r/2026/11/22/run.html")
    assert uri == "s3://reports/r/2026/11/22/run.html"
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["Body"].read().decode("utf-8").endswith("r\u00e9sum\u00e9</p>")
    assert before == []
    assert pages.history("r/history.json") == [{"run_id": "run", "coverage": 0.5}]


def test_a_history_that_is_not_ours_is_an_error_not_an_empty_trend(s3: Any) -> None:
    # given something else at the history's key
    from sibling_sentinel.adapters.reports import S3ReportPages

    s3.put_object(Bucket="reports", Key="r/history.json", Body=b"not json")

    # when it is read
    # then it is a storage error naming the object
    with pytest.raises(StorageError, match=r"s3://reports/r/history.json is not what this product writes"):
        S3ReportPages(s3, "reports").history("r/history.json")


def test_writing_a_page_to_a_missing_bucket_is_the_products_error(s3: Any) -> None:
    # given a bucket that does not exist
    from sibling_sentinel.adapters.reports import S3ReportPages

    pages = S3ReportPages(s3, "no-such-bucket")

    # when a page is written, then the failure is the product's, naming the page
    with pytest.raises(BucketNotFoundError, match="writing the HTML report to s3://no-such-bucket/"):
        pages.put_page("p.html", "<p></p>")
    with pytest.raises(BucketNotFoundError, match="reading the run history"):
        pages.history("h.json")
