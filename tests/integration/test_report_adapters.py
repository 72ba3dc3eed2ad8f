"""The report store, the checkpoint store and the self-invoker against moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sibling_sentinel.adapters.reports import LambdaInvoker, S3Checkpoints, S3ReportStore
from sibling_sentinel.config import Config
from sibling_sentinel.domain.checkpoint import Checkpoint
from sibling_sentinel.domain.full_sweep import AlreadyReportedError
from sibling_sentinel.domain.report import Report
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
