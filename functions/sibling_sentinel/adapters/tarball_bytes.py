"""S3 reads of a tarball's bytes (one streamed GET, conditional on the judged ETag) and the only write
`repair` makes: a `.list.txt` listing, conditional on the listing being as it was judged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError

from .. import __version__
from ..domain.verify.verify import under_prefix
from ..errors import ObjectChangedError, ObjectNotFoundError, StorageError, WriteRefusedError
from .errors import error_code, is_not_found, none_if_absent, translate
from .s3_content import S3Content

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_BYTES = 1024 * 1024
WRITER = f"sibling-sentinel/{__version__} repair"


class S3TarballBytes:
    """A failure half-way through the stream is the product's error (exit 3), never a short read:
    only bytes S3 says are the whole object are judged."""

    def __init__(self, client: S3Client, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._s3 = client
        self._chunk = chunk_bytes
        self._content = S3Content(client)

    def stream(self, bucket: str, key: str, etag: str) -> Iterator[bytes]:
        where = f"reading s3://{bucket}/{key}"
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
        except ClientError as e:
            if error_code(e) in ("PreconditionFailed", "412"):
                raise ObjectChangedError(f"s3://{bucket}/{key} changed since it was judged") from e
            if is_not_found(e):
                raise ObjectNotFoundError(f"s3://{bucket}/{key} does not exist") from e
            raise translate(e, where) from e
        except BotoCoreError as e:
            raise translate(e, where) from e
        expected = int(response.get("ContentLength", -1))
        return self._chunks(response["Body"], expected, where)

    def _chunks(self, body: object, expected: int, where: str) -> Iterator[bytes]:
        received = 0
        try:
            for chunk in body.iter_chunks(self._chunk):  # type: ignore[attr-defined]
                received += len(chunk)
                yield chunk
        except (BotoCoreError, HTTPError, OSError) as e:
            raise StorageError(f"{where}: the stream broke after {received} bytes: {e}") from e
        finally:
            body.close()  # type: ignore[attr-defined]
        if 0 <= expected != received:
            raise StorageError(f"{where}: the stream ended after {received} of {expected} bytes")

    def read_whole(self, bucket: str, key: str) -> bytes | None:
        body: bytes | None = none_if_absent(
            lambda: self._s3.get_object(Bucket=bucket, Key=key)["Body"].read(), f"reading s3://{bucket}/{key}"
        )
        return body

    def read_manifest(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        return self._content.read_manifest(bucket, key, max_bytes)


class S3ListingWriter:
    """Writes `*.list.txt` under one prefix and nothing else: any other key is refused before a request.

    The metadata names the writer and the tarball ETag the listing was made from, so an operator can
    tell a regenerated listing from the producer's and see which upload it describes.
    """

    def __init__(self, client: S3Client, prefix: str) -> None:
        self._s3 = client
        self._prefix = prefix

    def put_listing(
        self, bucket: str, key: str, body: bytes, tarball_etag: str, replaces_etag: str | None
    ) -> None:
        if not under_prefix(key, self._prefix):
            raise WriteRefusedError(
                f"refusing to write s3://{bucket}/{key}: not a listing under {self._prefix!r}"
            )
        condition = {"IfNoneMatch": "*"} if replaces_etag is None else {"IfMatch": f'"{replaces_etag}"'}
        try:
            self._s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="text/plain; charset=utf-8",
                Metadata={"written-by": WRITER, "tarball-etag": tarball_etag},
                **condition,  # type: ignore[arg-type]
            )
        except ClientError as e:
            if error_code(e) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                state = "was written" if replaces_etag is None else "changed"
                raise ObjectChangedError(
                    f"s3://{bucket}/{key} {state} since it was judged; left as it is"
                ) from e
            raise translate(e, f"writing s3://{bucket}/{key}") from e
        except BotoCoreError as e:
            raise translate(e, f"writing s3://{bucket}/{key}") from e


class S3JsonReports:
    """The nightly verification's report, one JSON object under the report prefix."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put_json(self, key: str, document: dict[str, object]) -> str:
        uri = f"s3://{self._bucket}/{key}"
        body = json.dumps(document, indent=1).encode("utf-8")
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as e:
            raise translate(e, f"writing the verification report to {uri}") from e
        return uri
