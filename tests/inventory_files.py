"""S3 Inventory reports as AWS writes them: a `manifest.json` and gzip CSV data files, built from objects.

The format follows AWS's documentation: every field quoted, keys URL-encoded the way S3 encodes them
elsewhere (a space is `+`, a literal `+` is `%2B`), `LastModifiedDate` like `2026-11-21T03:00:00.000Z`,
and rows in no particular order, split across several data files.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote_plus

from sibling_sentinel.domain.core.objects import ListedObject

DEFAULT_SCHEMA = "Bucket, Key, Size, LastModifiedDate, ETag"
VERSIONED_SCHEMA = (
    "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass"
)


def encode_key(key: str) -> str:
    return quote_plus(key, safe="/")


def stamp(when: datetime) -> str:
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def row_of(bucket: str, obj: ListedObject, schema: str = DEFAULT_SCHEMA, **extra: str) -> list[str]:
    values = {
        "Bucket": bucket,
        "Key": encode_key(obj.key),
        "Size": str(obj.size),
        "LastModifiedDate": stamp(obj.last_modified),
        "ETag": obj.etag,
        "VersionId": "v1",
        "IsLatest": "true",
        "IsDeleteMarker": "false",
        "StorageClass": "STANDARD",
        **extra,
    }
    return [values[name.strip()] for name in schema.split(",")]


def data_file(rows: Iterable[Sequence[str]], trailing_blank_lines: int = 0) -> bytes:
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return gzip.compress((text.getvalue() + "\n" * trailing_blank_lines).encode("utf-8"))


def manifest(
    source_bucket: str,
    files: dict[str, bytes],
    created_at: datetime,
    schema: str = DEFAULT_SCHEMA,
    file_format: str = "CSV",
    destination: str = "inventory-dest",
) -> bytes:
    return json.dumps(
        {
            "sourceBucket": source_bucket,
            "destinationBucket": f"arn:aws:s3:::{destination}",
            "version": "2016-11-30",
            "creationTimestamp": str(int(created_at.timestamp() * 1000)),
            "fileFormat": file_format,
            "fileSchema": schema,
            "files": [
                {"key": key, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()}
                for key, body in files.items()
            ],
        }
    ).encode()


def inventory(
    source_bucket: str,
    objects: Iterable[ListedObject],
    created_at: datetime,
    n_files: int = 3,
    seed: int = 7,
    base: str = "inv/backups-bucket/daily",
) -> dict[str, bytes]:
    """Keys to bodies: the data files (rows shuffled, dealt across `n_files`) and, last, the manifest."""
    rows = [row_of(source_bucket, o) for o in objects]
    random.Random(seed).shuffle(rows)
    files = {
        f"{base}/data/{n:04d}-{seed}.csv.gz": data_file(rows[n::n_files], trailing_blank_lines=n % 2)
        for n in range(n_files)
    }
    return {
        **files,
        f"{base}/{created_at:%Y-%m-%dT%H-%MZ}/manifest.json": manifest(source_bucket, files, created_at),
    }


def manifest_key(files: dict[str, bytes]) -> str:
    return next(k for k in files if k.endswith("manifest.json"))
