"""Where sweep reports are kept: one JSON object per run in the report bucket."""

from __future__ import annotations

import io
import tempfile
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.report import Report
from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3ReportStore:
    """Streams the report through a temporary file: a million findings are never one string."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put(self, key: str, report: Report) -> str:
        uri = f"s3://{self._bucket}/{key}"
        with tempfile.TemporaryFile() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8")
            report.write_json(text)
            text.flush()
            text.detach()
            raw.seek(0)
            try:
                self._s3.put_object(Bucket=self._bucket, Key=key, Body=raw, ContentType="application/json")
            except (ClientError, BotoCoreError) as e:
                raise translate(e, f"writing the report to {uri}") from e
        return uri
