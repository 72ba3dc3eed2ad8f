"""S3 reads: listing a prefix in key order, and finding a few named objects by one small listing."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.core.listing import PageCheck
from ..domain.core.objects import FolderPage, ListedObject, ListedPage
from ..domain.sweep.shards import find_listed
from . import list_page
from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def unquoted_etag(raw: Any) -> str:
    return str(raw or "").strip('"')


class S3Lister:
    """Lists with ListObjectsV2, one request a page, every page checked before it is believed.

    botocore asks for `EncodingType=url` keys as it does for its paginator. The pages are read by
    the lean parser (`list_page`) into columns (`ListedPage`), with the same keys (decoded as
    botocore decodes them), sizes, times and etags as botocore's parser and its decoding give.
    botocore's paginator is not used: it ends a listing at a page with no continuation token whatever
    `IsTruncated` says, so it would stop early without a word; here every page goes through
    `PageCheck` (domain/core/listing.py) first.
    """

    def __init__(self, client: S3Client, page_size: int = 1000) -> None:
        self._s3 = client
        self._page_size = page_size
        list_page.install(client)

    @property
    def endpoint(self) -> str:
        return str(self._s3.meta.endpoint_url)

    def pages(
        self, bucket: str, prefix: str, start_after: str = ""
    ) -> Generator[Sequence[ListedObject], None, None]:
        """Every key under the prefix (after `start_after`: a key range's start, or a paused sweep's).

        A page is a `ListedPage` (columns, objects built when read) when the lean parser read it."""
        for _, objects in self._paginate(bucket, prefix, "", start_after):
            yield objects

    def folder(self, bucket: str, prefix: str) -> Iterator[FolderPage]:
        """The folder's own keys and its sub-folders (`Delimiter="/"`)."""
        for page, objects in self._paginate(bucket, prefix, "/"):
            yield FolderPage(objects, [p["Prefix"] for p in page.get("CommonPrefixes", [])])

    def _paginate(
        self, bucket: str, prefix: str, delimiter: str, start_after: str = ""
    ) -> Iterator[tuple[Any, Sequence[ListedObject]]]:
        check = PageCheck(self.endpoint, bucket, prefix, start_after, delimiter)
        args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": self._page_size}
        if delimiter:
            args["Delimiter"] = delimiter
        if start_after:
            args["StartAfter"] = start_after
        while True:
            try:
                with list_page.lean():
                    page = self._s3.list_objects_v2(**args)
            except (ClientError, BotoCoreError) as e:
                raise translate(e, f"listing s3://{bucket}/{prefix}") from e
            token = page.get("NextContinuationToken")
            lean: Sequence[ListedObject] | None = page.get(list_page.PAGE)  # type: ignore[assignment]
            objects = _objects(page) if lean is None else lean  # None: a page left to botocore
            columns = objects if isinstance(objects, ListedPage) else None
            check.check(
                [o.key for o in objects] if columns is None else columns.keys,
                [p["Prefix"] for p in page.get("CommonPrefixes", [])],
                bool(page.get("IsTruncated")),
                token,
            )
            if columns is not None:
                columns.ascending = True  # the check above has just made sure
            yield page, objects
            if not page.get("IsTruncated"):
                return
            args["ContinuationToken"] = token


def _objects(page: Any) -> list[ListedObject]:
    return [
        ListedObject(o["Key"], o["Size"], o["LastModified"], unquoted_etag(o.get("ETag")))
        for o in page.get("Contents", [])
    ]


class S3Objects:
    """Reads a few named objects.

    `find` lists their common prefix instead of sending a HEAD for each: a HEAD on a missing key
    answers 403, not 404, unless the role may list the bucket without an `s3:prefix` condition, and
    the deployed role may only list under its prefix. A listing answers "absent" without that doubt,
    and costs one request for a tarball and all its siblings.
    """

    def __init__(self, client: S3Client, page_size: int = 1000) -> None:
        self._lister = S3Lister(client, page_size)

    def find(self, bucket: str, keys: Iterable[str]) -> dict[str, ListedObject]:
        return find_listed(self._lister, bucket, keys)


class S3BucketNotifications:
    """Reads and writes a bucket's whole notification configuration."""

    def __init__(self, client: S3Client) -> None:
        self._s3 = client

    def read(self, bucket: str) -> dict[str, Any]:
        try:
            current = dict(self._s3.get_bucket_notification_configuration(Bucket=bucket))
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"reading the notification configuration of s3://{bucket}") from e
        current.pop("ResponseMetadata", None)
        return current

    def regions(self, bucket: str) -> tuple[str, str]:
        """The bucket's region, and the region this client runs in (where the events would be wanted)."""
        try:
            where = self._s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"reading the region of s3://{bucket}") from e
        # S3 answers no constraint for us-east-1, and the legacy "EU" for eu-west-1
        region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(where, str(where))
        return region, str(self._s3.meta.region_name or "us-east-1")

    def write(self, bucket: str, configuration: Mapping[str, Any]) -> None:
        """Existing destinations are not re-validated: a broken one of someone else's must not block this."""
        try:
            self._s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration=configuration,  # type: ignore[arg-type]
                SkipDestinationValidation=True,
            )
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"writing the notification configuration of s3://{bucket}") from e
