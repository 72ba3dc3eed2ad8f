"""What the domain knows about an S3 object: the fields a listing gives, nothing more."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, overload


@dataclass(frozen=True, slots=True)
class ListedObject:
    """One object as ListObjectsV2 or HeadObject reports it; `key` is always the decoded key."""

    key: str
    size: int
    last_modified: datetime
    etag: str = ""

    def to_row(self) -> list[object]:
        """A compact JSON-ready form, for checkpoints."""
        return [self.key, self.size, self.last_modified.isoformat(), self.etag]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ListedObject:
        key, size, last_modified, etag = row
        return cls(str(key), int(size), datetime.fromisoformat(str(last_modified)), str(etag))


@dataclass(frozen=True, slots=True)
class FolderPage:
    """One page of a folder listed with `Delimiter="/"`: its own objects, and its sub-folders' prefixes."""

    objects: Sequence[ListedObject]
    folders: Sequence[str]


def stamp_time(text: str) -> datetime:
    """A canonical S3 time (`2026-11-22T03:00:00.000Z`, see `ListedPage`) as the datetime it names."""
    return datetime.fromisoformat(text)


class ListedPage(Sequence[ListedObject]):
    """One listing page as columns, its `ListedObject`s built only when someone reads one.

    A sweep reads a million keys and judges them mostly from names, sizes and times, so it reads the
    columns (`Reconciler`'s fast path) and builds objects only for the few that are not ok. `stamps`
    are S3's canonical UTC times, all `YYYY-MM-DDTHH:MM:SS.mmmZ` and each a valid date, so that
    comparing two as strings is exactly comparing the times they name. `etags` are as listed: an object's
    etag is `etag(n)` of them (a page read from XML unescapes it there, only when an object is built).
    `ascending` says its keys were checked to ascend strictly (`PageCheck`), so nobody checks again.
    """

    __slots__ = ("ascending", "etags", "keys", "sizes", "stamps")

    def __init__(
        self, keys: Sequence[str], sizes: Sequence[int], stamps: Sequence[str], etags: Sequence[str]
    ) -> None:
        self.keys = keys
        self.sizes = sizes
        self.stamps = stamps
        self.etags = etags
        self.ascending = False

    @classmethod
    def of(cls, objects: Sequence[ListedObject]) -> ListedPage | None:
        """The objects as a page, or None when a time has no canonical form (not UTC, or finer than a
        millisecond); for tests and other listers."""
        stamps = []
        for o in objects:
            when = o.last_modified
            if when.utcoffset() != timedelta(0) or when.microsecond % 1000 or when.year < 1000:
                return None
            stamps.append(f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z")
        return cls([o.key for o in objects], [o.size for o in objects], stamps, [o.etag for o in objects])

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> ListedObject: ...

    @overload
    def __getitem__(self, index: slice) -> ListedPage: ...

    def __getitem__(self, index: int | slice) -> ListedObject | ListedPage:
        if isinstance(index, slice):
            part = type(self)(self.keys[index], self.sizes[index], self.stamps[index], self.etags[index])
            part.ascending = self.ascending and (index.step or 1) > 0
            return part
        when = stamp_time(self.stamps[index])
        return ListedObject(self.keys[index], self.sizes[index], when, self.etag(index))

    def etag(self, index: int) -> str:
        """The object's etag, without the quotes S3 puts around it."""
        return self.etags[index].strip('"')

    def __iter__(self) -> Iterator[ListedObject]:
        for n in range(len(self.keys)):
            yield self[n]

    def upto(self, last: str) -> ListedPage:
        """The objects whose keys are at most `last` (keys ascend in a page)."""
        return self[: bisect_right(self.keys, last)]


@dataclass(frozen=True)
class StoredChecksum:
    """What HeadObject with ChecksumMode=ENABLED says about a tarball's checksum.

    `sha256` is S3's base64 ChecksumSHA256; `checksum_type` is FULL_OBJECT, COMPOSITE or None when
    S3 (or an emulator) did not say; `multipart` is whether the ETag marks a multipart upload.
    """

    sha256: str | None
    checksum_type: str | None
    multipart: bool
