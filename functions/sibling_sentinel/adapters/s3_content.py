"""S3 reads for manifest checks: the first bytes of a manifest, and a tarball's stored checksum.

Never a byte of the tarball: the checksum comes from HeadObject with ChecksumMode=ENABLED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.core.objects import StoredChecksum
from .errors import error_code, is_not_found, none_if_absent, translate
from .s3 import unquoted_etag

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3Content:
    """Only a 404 means "absent"; a 403 or throttling is the product's error, never `invalid`."""

    def __init__(self, client: S3Client) -> None:
        self._s3 = client

    def read_manifest(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        """Up to `max_bytes + 1` bytes, so that a manifest over the cap shows as one."""
        where = f"reading s3://{bucket}/{key}"
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes}")
            return response["Body"].read(max_bytes + 1)
        except ClientError as e:
            if is_not_found(e):
                return None
            if error_code(e) == "InvalidRange":  # an empty object has no byte 0
                return b""
            raise translate(e, where) from e
        except BotoCoreError as e:
            raise translate(e, where) from e

    def stored_checksum(self, bucket: str, key: str) -> StoredChecksum | None:
        r = none_if_absent(
            lambda: self._s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED"),
            f"reading the checksum of s3://{bucket}/{key}",
        )
        if r is None:
            return None
        return StoredChecksum(
            r.get("ChecksumSHA256"), r.get("ChecksumType"), "-" in unquoted_etag(r.get("ETag"))
        )
