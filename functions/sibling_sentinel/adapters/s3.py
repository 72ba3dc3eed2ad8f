"""S3 reads: listing a prefix in key order, and HEAD of one object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.objects import FolderPage, ListedObject
from . import list_page
from .errors import error_code, translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _etag(raw: Any) -> str:
    return str(raw or "").strip('"')


class S3Lister:
    """Lists with boto3's ListObjectsV2 paginator, which decodes `EncodingType=url` keys for us.

    The client's ListObjectsV2 pages are read by the lean parser (`list_page`), which gives the
    same keys, sizes, times and etags as botocore's parser at about 25 times its speed.
    """

    def __init__(self, client: S3Client, page_size: int = 1000) -> None:
        self._s3 = client
        self._page_size = page_size
        list_page.install(client)

    def pages(self, bucket: str, prefix: str) -> Iterator[list[ListedObject]]:
        """Every key under the prefix."""
        for page in self._paginate(bucket, prefix, ""):
            yield _objects(page)

    def folder(self, bucket: str, prefix: str) -> Iterator[FolderPage]:
        """The folder's own keys and its sub-folders (`Delimiter="/"`)."""
        for page in self._paginate(bucket, prefix, "/"):
            yield FolderPage(_objects(page), [p["Prefix"] for p in page.get("CommonPrefixes", [])])

    def _paginate(self, bucket: str, prefix: str, delimiter: str) -> Iterator[Any]:
        paginator = self._s3.get_paginator("list_objects_v2")
        args: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": prefix,
            "PaginationConfig": {"PageSize": self._page_size},
        }
        if delimiter:
            args["Delimiter"] = delimiter
        try:
            yield from paginator.paginate(**args)
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"listing s3://{bucket}/{prefix}") from e


def _objects(page: Any) -> list[ListedObject]:
    return [
        ListedObject(o["Key"], o["Size"], o["LastModified"], _etag(o.get("ETag")))
        for o in page.get("Contents", [])
    ]


class S3Objects:
    """HEAD requests. Only a 404 from an existing bucket means "absent"; a 403 is an error, never absent."""

    def __init__(self, client: S3Client) -> None:
        self._s3 = client

    def head(self, bucket: str, key: str) -> ListedObject | None:
        try:
            r = self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if error_code(e) in ("404", "NoSuchKey"):
                return None
            raise translate(e, f"reading s3://{bucket}/{key}") from e
        except BotoCoreError as e:
            raise translate(e, f"reading s3://{bucket}/{key}") from e
        return ListedObject(key, r["ContentLength"], r["LastModified"], _etag(r.get("ETag")))
