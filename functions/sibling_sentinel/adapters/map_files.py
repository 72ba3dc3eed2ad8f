"""The Step Functions sweep's working files: the Map's items file and the children's results in S3."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.sweep.checkpoint import Checkpoint
from .errors import translate
from .reports import S3Checkpoints
from .s3 import S3Lister

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3MapFiles:
    """Results are JSON lines in the checkpoint format; the run's folder is listed with checked pages."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket
        self._parts = S3Checkpoints(client, bucket)
        self._lister = S3Lister(client)

    def put_items(self, key: str, items: list[dict[str, Any]]) -> None:
        body = json.dumps(items, ensure_ascii=False).encode("utf-8")
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"writing the sweep's items s3://{self._bucket}/{key}") from e

    def save(self, key: str, checkpoint: Checkpoint) -> None:
        self._parts.save(key, checkpoint)

    def load(self, key: str) -> Checkpoint:
        return self._parts.load(key)

    def keys(self, prefix: str) -> list[str]:
        return [o.key for page in self._lister.pages(self._bucket, prefix) for o in page]
