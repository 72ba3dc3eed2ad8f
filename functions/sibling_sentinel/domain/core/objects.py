"""What the domain knows about an S3 object: the fields a listing gives, nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


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


@dataclass(frozen=True)
class StoredChecksum:
    """What HeadObject with ChecksumMode=ENABLED says about a tarball's checksum.

    `sha256` is S3's base64 ChecksumSHA256; `checksum_type` is FULL_OBJECT, COMPOSITE or None when
    S3 (or an emulator) did not say; `multipart` is whether the ETag marks a multipart upload.
    """

    sha256: str | None
    checksum_type: str | None
    multipart: bool
