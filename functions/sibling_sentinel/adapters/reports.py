"""Where sweep reports and paused sweeps are kept: objects under the report prefix."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.sweep.checkpoint import Checkpoint
from ..domain.sweep.fleet import PreviousRun
from ..domain.sweep.full_sweep import AlreadyReportedError
from ..domain.sweep.report import Report
from ..errors import StorageError
from .errors import error_code, none_if_absent, translate

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client


def _spooled(write: Callable[[TextIO], None]) -> IO[bytes]:
    """Text written through a temporary file, so a million findings are never one string in memory."""
    raw = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller)
    text = io.TextIOWrapper(raw, encoding="utf-8")
    write(text)
    text.flush()
    text.detach()
    raw.seek(0)
    return raw


class S3ReportStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put(self, key: str, report: Report) -> str:
        """Writes only if the key is new (`If-None-Match: *`): a run's report is written once.

        A second invocation for the same run (a duplicated async event) finds it there and
        publishes nothing, so a run's metrics, event and alert go out once.
        """
        uri = f"s3://{self._bucket}/{key}"
        with _spooled(report.write_json) as body:
            try:
                self._s3.put_object(
                    Bucket=self._bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
                )
            except ClientError as e:
                if error_code(e) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                    raise AlreadyReportedError(f"{uri} is already written") from e
                raise translate(e, f"writing the report to {uri}") from e
            except BotoCoreError as e:
                raise translate(e, f"writing the report to {uri}") from e
        return uri


class S3Checkpoints:
    """Paused sweeps as JSON lines; read back line by line."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def _where(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"

    def save(self, key: str, checkpoint: Checkpoint) -> None:
        with _spooled(checkpoint.write) as body:
            try:
                self._s3.put_object(
                    Bucket=self._bucket, Key=key, Body=body, ContentType="application/x-ndjson"
                )
            except (ClientError, BotoCoreError) as e:
                raise translate(e, f"writing the checkpoint {self._where(key)}") from e

    def load(self, key: str) -> Checkpoint:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
            return Checkpoint.read(_lines(body.iter_lines()))
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"reading the checkpoint {self._where(key)}") from e

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"deleting the checkpoint {self._where(key)}") from e


def _lines(raw: Iterator[bytes]) -> Iterator[str]:
    for line in raw:
        yield line.decode("utf-8")


class LambdaInvoker:
    """An asynchronous (`Event`) invoke: Lambda queues it, retries it, and we do not wait."""

    def __init__(self, client: LambdaClient) -> None:
        self._lambda = client

    def invoke_async(self, function: str, payload: dict[str, Any]) -> None:
        try:
            self._lambda.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload))
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"invoking {function}") from e


def read_if_listed(s3: S3Client, bucket: str, key: str, what: str) -> bytes | None:
    """The object's bytes, or None when it is not there.

    Listed first, by its exact name: without an unconditioned `s3:ListBucket`, reading a key that is
    not there answers 403, which must not be taken for "not there", nor fail a stack's first run. A
    key deleted between the listing and the read still answers 404, which is "not there" too.
    """

    def read() -> bytes | None:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        if not any(o["Key"] == key for o in listed.get("Contents", [])):
            return None
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    return none_if_absent(read, what)


class S3ReportPages:
    """The HTML pages and the run history, beside the JSON reports."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = self.bucket = bucket

    def put_page(self, key: str, page: str) -> str:
        uri = f"s3://{self._bucket}/{key}"
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=page.encode("utf-8"),
                ContentType="text/html; charset=utf-8",
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"writing the HTML report to {uri}") from e
        return uri

    def history(self, key: str) -> list[dict[str, Any]]:
        """No history yet is an empty one; an unreadable one is an error (the page would lie about it)."""
        uri = f"s3://{self._bucket}/{key}"
        body = read_if_listed(self._s3, self._bucket, key, f"reading the run history {uri}")
        if body is None:
            return []
        try:
            runs = json.loads(body)["runs"]
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"the run history {uri} is not what this product writes: {e}") from e
        if not isinstance(runs, list):
            raise StorageError(f"the run history {uri} is not what this product writes: runs is not a list")
        return runs

    def keep_history(self, key: str, runs: Sequence[Mapping[str, Any]]) -> None:
        body = json.dumps({"runs": list(runs)}, indent=1).encode("utf-8")
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"writing the run history s3://{self._bucket}/{key}") from e


class S3RunHistory:
    """The previous complete sweep of the watched prefix, found through a pointer beside the reports.

    `latest.json` names the last report that a complete nightly (or whole-prefix manual) sweep wrote.
    A pointer, not a listing of dated folders, so a sub-prefix run's report is never taken for it.
    """

    def __init__(self, client: S3Client, bucket: str, report_prefix: str) -> None:
        self._s3 = client
        self._bucket = bucket
        self._pointer = f"{report_prefix}latest.json"

    def _read_json(self, key: str) -> Any | None:
        body = read_if_listed(self._s3, self._bucket, key, f"reading s3://{self._bucket}/{key}")
        if body is None:
            return None
        try:
            return json.loads(body)
        except ValueError as e:
            raise StorageError(f"s3://{self._bucket}/{key} is not JSON: {e}") from e

    def previous(self) -> PreviousRun | None:
        """None before the first sweep, or when the report it named is gone (a lifecycle rule)."""
        pointer = self._read_json(self._pointer)
        if not isinstance(pointer, dict) or not isinstance(pointer.get("report"), str):
            return None
        report = self._read_json(pointer["report"])
        if not isinstance(report, dict):
            return None
        try:
            return PreviousRun.from_report(f"s3://{self._bucket}/{pointer['report']}", report)
        except (KeyError, TypeError, ValueError) as e:
            raise StorageError(f"the previous report {pointer['report']} cannot be read: {e}") from e

    def remember(self, uri: str, report: Report) -> None:
        key = uri.removeprefix(f"s3://{self._bucket}/")
        body = {"report": key, "prefix": report.prefix, "started_at": report.started_at.isoformat()}
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=self._pointer, Body=json.dumps(body), ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"writing s3://{self._bucket}/{self._pointer}") from e
