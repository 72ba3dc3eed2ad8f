"""S3 Inventory as the listing source: the manifest, its CSV rows, and a `Lister` over them.

A daily inventory costs $0.0025 per million objects listed; listing the bucket costs $0.005 per 1,000
LIST requests, each of at most 1,000 keys, so $5 per million requests, or $0.005 per million objects
at full pages. An inventory is also read in a few large GETs instead of a long chain of LIST pages.

The rows come in no particular order (AWS: "Objects in Amazon S3 Inventory reports aren't guaranteed
to be sorted in any order"), so `Inventory.pages` puts them in key order with the external merge sort
of `external_sort.py` before they reach the reconciler. Everything here is plain Python over a port
(`InventoryFiles`), so it is tested with bytes built in the test.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from ...errors import ConfigError, SentinelError
from ..core.objects import ListedObject
from ..ports import InventoryFiles, Parallel, Readable
from .external_sort import DEFAULT_FAN_IN, DEFAULT_RUN_ROWS, Run, close_all, merged, pages_of, sorted_runs

SUPPORTED_FORMATS = ("CSV",)
NEEDED_COLUMNS = ("Key", "Size", "LastModifiedDate")
PAGE_SIZE = 1000


class InventoryError(SentinelError):
    """The inventory could not be read as it says it is (a corrupt data file, a row that makes no sense)."""


def decode_key(raw: str) -> str:
    """The key as S3 stores it, from the URL-encoded form an inventory CSV holds.

    AWS documents only that "the key name is URL-encoded and must be decoded". S3 encodes keys the
    way HTML forms do wherever it URL-encodes them (ListObjectsV2 `EncodingType=url`, the `Records`
    notifications), and reports from inventory readers agree (cloud-custodian #1997: "URL-encoded
    with space encoded as plus"): a space is `+`, a literal `+` is `%2B`. So `unquote_plus`; plain
    `unquote` would turn every space into a `+` and report a missing listing that is there.
    """
    return unquote_plus(raw, encoding="utf-8", errors="strict")


def _flag(value: str) -> bool:
    return value.strip().lower() == "true"


@dataclass(frozen=True)
class Columns:
    """Where each field is in a row, from the manifest's `fileSchema` (any order, optional fields)."""

    key: int
    size: int
    last_modified: int
    etag: int | None = None
    is_latest: int | None = None
    is_delete_marker: int | None = None

    @classmethod
    def of(cls, schema: str) -> Columns:
        names = [name.strip() for name in schema.split(",")]
        where = {name: i for i, name in enumerate(names)}
        absent = [name for name in NEEDED_COLUMNS if name not in where]
        if absent:
            raise ConfigError(
                f"the inventory has no {', '.join(absent)} column (its fileSchema is {schema!r}); "
                "configure it with OptionalFields Size and LastModifiedDate"
            )
        return cls(
            where["Key"],
            where["Size"],
            where["LastModifiedDate"],
            where.get("ETag"),
            where.get("IsLatest"),
            where.get("IsDeleteMarker"),
        )

    def read(self, row: Sequence[str]) -> ListedObject | None:
        """One row as the object a listing would give; None for an older version or a delete marker."""
        if self.is_latest is not None and not _flag(row[self.is_latest]):
            return None
        if self.is_delete_marker is not None and _flag(row[self.is_delete_marker]):
            return None
        last_modified = datetime.fromisoformat(row[self.last_modified])
        if last_modified.tzinfo is None:
            last_modified = last_modified.replace(tzinfo=UTC)
        etag = row[self.etag].strip('"') if self.etag is not None else ""
        return ListedObject(decode_key(row[self.key]), int(row[self.size]), last_modified, etag)


@dataclass(frozen=True)
class DataFile:
    key: str
    md5: str = ""


def _field(doc: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in doc:
        raise ConfigError(f"{where} is not an S3 Inventory manifest: it has no {name!r}")
    return doc[name]


@dataclass(frozen=True)
class InventoryManifest:
    """The parts of AWS's `manifest.json` a sweep needs."""

    source_bucket: str
    file_format: str
    columns: Columns
    files: tuple[DataFile, ...]
    created_at: datetime

    @classmethod
    def parse(cls, body: bytes, where: str) -> InventoryManifest:
        try:
            doc = json.loads(body)
        except ValueError as e:
            raise ConfigError(f"{where} is not an S3 Inventory manifest (not JSON: {e})") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"{where} is not an S3 Inventory manifest (not a JSON object)")
        file_format = str(_field(doc, "fileFormat", where))
        if file_format.upper() not in SUPPORTED_FORMATS:
            raise ConfigError(
                f"{where} is a {file_format} inventory; only CSV is supported (Parquet and ORC readers "
                "are too large for the Lambda bundle). Configure the inventory with Format CSV"
            )
        try:
            files = tuple(DataFile(str(f["key"]), str(f.get("MD5checksum", ""))) for f in doc["files"])
            created_at = datetime.fromtimestamp(int(doc["creationTimestamp"]) / 1000, UTC)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ConfigError(f"{where} is not an S3 Inventory manifest ({type(e).__name__}: {e})") from None
        return cls(
            source_bucket=str(_field(doc, "sourceBucket", where)),
            file_format=file_format,
            columns=Columns.of(str(_field(doc, "fileSchema", where))),
            files=files,
            created_at=created_at,
        )


class _Hashing:
    """Passes bytes through and keeps their MD5, to check a data file against the manifest."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.md5 = hashlib.md5(usedforsecurity=False)

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._stream.read(size)
        self.md5.update(chunk)
        return chunk

    def seek(self, offset: int, /) -> int:
        raise io.UnsupportedOperation(f"a data file is read once, forwards (asked to seek to {offset})")

    def drain(self) -> str:
        while self.read(1 << 16):
            pass
        return self.md5.hexdigest()


def rows_of(stream: Readable, columns: Columns, where: str, md5: str = "") -> Iterator[ListedObject]:
    """Every current object in one gzip CSV data file; raises at the end if its MD5 is not the manifest's."""
    hashing = _Hashing(stream)
    text = io.TextIOWrapper(gzip.GzipFile(fileobj=hashing, mode="rb"), encoding="utf-8", newline="")
    reader = csv.reader(text)
    try:
        for row in reader:
            if not row or row == [""]:
                continue  # S3 may end a file with blank lines
            obj = columns.read(row)
            if obj is not None:
                yield obj
    except (OSError, EOFError, zlib.error, csv.Error, UnicodeDecodeError, ValueError, IndexError) as e:
        raise InventoryError(
            f"{where}: line {reader.line_num} cannot be read ({type(e).__name__}: {e})"
        ) from e
    digest = hashing.drain()
    if md5 and digest != md5.lower():
        raise InventoryError(f"{where}: MD5 {digest} is not the manifest's {md5}; the data file is corrupt")


@dataclass(frozen=True)
class Inventory:
    """An opened inventory: a `Lister` over its rows, judged as of when S3 took it.

    `readers` data files are read at once (on `parallel`), each sorting runs of at most
    `run_rows // readers` rows, so at most `run_rows` rows are in memory together.
    """

    files: InventoryFiles
    bucket: str  # where the manifest and its data files are
    manifest: InventoryManifest
    parallel: Parallel
    readers: int = 1
    run_rows: int = DEFAULT_RUN_ROWS
    fan_in: int = DEFAULT_FAN_IN

    @classmethod
    def open(
        cls,
        files: InventoryFiles,
        bucket: str,
        key: str,
        swept_bucket: str,
        parallel: Parallel,
        readers: int = 1,
        run_rows: int = DEFAULT_RUN_ROWS,
    ) -> Inventory:
        where = f"s3://{bucket}/{key}"
        manifest = InventoryManifest.parse(files.read(bucket, key), where)
        if manifest.source_bucket != swept_bucket:
            raise ConfigError(
                f"{where} is an inventory of bucket {manifest.source_bucket!r}, not of {swept_bucket!r}"
            )
        return cls(files, bucket, manifest, parallel, readers, run_rows)

    @property
    def created_at(self) -> datetime:
        return self.manifest.created_at

    def pages(
        self, bucket: str, prefix: str, start_after: str = ""
    ) -> Generator[list[ListedObject], None, None]:
        """Every row under the prefix in S3 key order; a paused sweep skips to after `start_after`.

        The data files are read again on every call (an inventory has no cursor), but only the rows
        after `start_after` are sorted.
        """
        if bucket != self.manifest.source_bucket:
            raise ConfigError(f"this inventory lists {self.manifest.source_bucket!r}, not {bucket!r}")
        runs = self._sorted_runs(prefix, start_after)
        last: str | None = None
        for page in pages_of(merged(runs, self.fan_in), PAGE_SIZE):
            for obj in page:
                if obj.key == last:
                    raise InventoryError(
                        f"{obj.key!r} is listed twice in the inventory; an inventory of all versions "
                        "needs its IsLatest column"
                    )
                last = obj.key
            yield page

    def _sorted_runs(self, prefix: str, start_after: str) -> list[Run]:
        per_reader = max(1, self.run_rows // max(1, self.readers))
        readers = [self._reader(f, prefix, start_after, per_reader) for f in self.manifest.files]
        waits = [self.parallel.submit(read) for read in readers]
        runs: list[Run] = []
        failure: BaseException | None = None
        for wait in waits:  # every reader is waited for, so none is left writing a file after an error
            try:
                runs.extend(wait())
            except BaseException as e:  # re-raised below, once the other readers are done
                failure = failure or e
        if failure is not None:
            close_all(runs)
            raise failure
        return runs

    def _reader(
        self, data: DataFile, prefix: str, start_after: str, run_rows: int
    ) -> Callable[[], list[Run]]:
        def read() -> list[Run]:
            where = f"s3://{self.bucket}/{data.key}"
            rows = rows_of(self.files.open(self.bucket, data.key), self.manifest.columns, where, data.md5)
            return sorted_runs(_wanted(prefix, start_after, rows), run_rows)

        return read


def _wanted(prefix: str, start_after: str, objects: Iterable[ListedObject]) -> Iterator[ListedObject]:
    """Rows under the prefix that a paused sweep has not reached yet: only those are sorted."""
    return (o for o in objects if o.key > start_after and o.key.startswith(prefix))
