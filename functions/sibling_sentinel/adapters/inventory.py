"""S3 reads of an S3 Inventory's own objects: the manifest, and its data files as streams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ObjectNotFoundError, SentinelError
from .errors import is_not_found, translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _failure(error: ClientError | BotoCoreError, what: str) -> SentinelError:
    if isinstance(error, ClientError) and is_not_found(error):
        return ObjectNotFoundError(f"{what}: no such object (is the inventory path right?)")
    return translate(error, what)


class _Stream:
    """A GetObject body whose read failures (a reset connection halfway) are the product's errors."""

    def __init__(self, body: Any, what: str) -> None:
        self._body = body
        self._what = what

    def read(self, size: int = -1, /) -> bytes:
        try:
            return bytes(self._body.read(None if size < 0 else size))
        except (ClientError, BotoCoreError) as e:
            raise _failure(e, self._what) from e


class S3InventoryFiles:
    def __init__(self, client: S3Client) -> None:
        self._s3 = client

    def read(self, bucket: str, key: str) -> bytes:
        return self.open(bucket, key).read()

    def open(self, bucket: str, key: str) -> _Stream:
        what = f"reading s3://{bucket}/{key}"
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        except (ClientError, BotoCoreError) as e:
            raise _failure(e, what) from e
        return _Stream(body, what)
