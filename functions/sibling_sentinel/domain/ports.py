"""Every port the domain talks through whose messages are the core vocabulary or plain data.

Adapters implement these (adapters/), tests implement them in memory (tests/fakes.py), and every
capability may use any of them. A port that carries one capability's own record stays beside that
record, because moving it here would make this bottom layer import a capability: `CheckQueue`
(a `CheckMessage`, event_path/), `ReportStore`, `Checkpoints`, `RunHistory` and `MapFiles`
(a `Report`, a `Checkpoint`, a `PreviousRun`, sweep/), and `ShardRunner` and `EdgeLookup`, which
are the sweep's own seams (its worker processes, its range edges). docs/ARCHITECTURE.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from .core.objects import FolderPage, ListedObject, StoredChecksum

T = TypeVar("T")


# --- Reading S3 --------------------------------------------------------------------------------------


class Lister(Protocol):
    """Lists a prefix in S3 key order. A generator, so a sweep that stops early can close it."""

    def pages(
        self, bucket: str, prefix: str, start_after: str = ""
    ) -> Generator[Sequence[ListedObject], None, None]: ...


@runtime_checkable
class FolderLister(Lister, Protocol):
    """A lister that can also list a folder's own keys and its sub-folders, so it can be sharded."""

    def folder(self, bucket: str, prefix: str) -> Iterator[FolderPage]: ...


class ObjectStore(Protocol):
    """The objects among `keys` that exist; a key left out was listed as absent, never merely unseen."""

    def find(self, bucket: str, keys: Iterable[str]) -> Mapping[str, ListedObject]: ...


class ManifestStore(Protocol):
    """What a manifest check reads: the manifest's first bytes and the tarball's stored checksum.

    Both return None for a 404 (deleted since it was listed); any other failure is a SentinelError.
    """

    def read_manifest(self, bucket: str, key: str, max_bytes: int) -> bytes | None: ...

    def stored_checksum(self, bucket: str, key: str) -> StoredChecksum | None: ...


class TarballBytes(Protocol):
    def stream(self, bucket: str, key: str, etag: str) -> Iterator[bytes]:
        """The object's stored bytes, from one GET that fails (ObjectChangedError) unless its ETag is
        `etag`; errors while streaming are the product's errors, never a short stream."""
        ...

    def read_whole(self, bucket: str, key: str) -> bytes | None:
        """A small object's bytes (a listing), or None when it does not exist."""
        ...

    def read_manifest(self, bucket: str, key: str, max_bytes: int) -> bytes | None: ...


class InventoryFiles(Protocol):
    """Reads the inventory's own objects: the manifest whole, a data file as a stream.

    A missing object is `ObjectNotFoundError`; any other failure is a SentinelError.
    """

    def read(self, bucket: str, key: str) -> bytes: ...

    def open(self, bucket: str, key: str) -> Readable: ...


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# --- Writing S3 --------------------------------------------------------------------------------------


class ListingWrites(Protocol):
    def put_listing(
        self, bucket: str, key: str, body: bytes, tarball_etag: str, replaces_etag: str | None
    ) -> None:
        """Writes only if the listing is still absent (`replaces_etag` None) or still that ETag;
        ObjectChangedError otherwise."""
        ...


class JsonReports(Protocol):
    def put_json(self, key: str, document: dict[str, Any]) -> str: ...


class ReportPages(Protocol):
    """Keeps the HTML pages and the run history under the report prefix, in `bucket` (the JSON
    reports' bucket too)."""

    bucket: str

    def put_page(self, key: str, page: str) -> str:
        """Writes the page (overwriting: a retried run renders it again); returns its s3:// URI."""
        ...

    def history(self, key: str) -> list[dict[str, Any]]:
        """The runs kept so far, oldest first; none when there is no history yet."""
        ...

    def keep_history(self, key: str, runs: Sequence[Mapping[str, Any]]) -> None: ...


class BucketNotifications(Protocol):
    def read(self, bucket: str) -> dict[str, Any]: ...

    def write(self, bucket: str, configuration: Mapping[str, Any]) -> None: ...


# --- Telling people and other systems ----------------------------------------------------------------


class Notifier(Protocol):
    """Alerts for people; `kind` travels as a message attribute so subscribers can filter on it."""

    def publish(self, subject: str, message: str, kind: str) -> None: ...


class EventBus(Protocol):
    def put(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class Counter(Protocol):
    """Metrics as the domain needs them; Powertools EMF in Lambda, a list in tests."""

    def count(self, name: str, value: float = 1) -> None: ...

    def seconds(self, name: str, value: float) -> None: ...

    def percent(self, name: str, value: float) -> None: ...


class Log(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None: ...

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


class StackResponder(Protocol):
    """Answers CloudFormation at the custom resource's presigned ResponseURL."""

    def send(self, url: str, body: Mapping[str, Any]) -> None: ...


# --- Running work ------------------------------------------------------------------------------------


class Parallel(Protocol):
    """Starts work now and returns a function that waits for its result (or raises its error)."""

    def submit(self, work: Callable[[], T]) -> Callable[[], T]: ...


class Invoker(Protocol):
    """Starts another invocation of a function without waiting for it (Lambda's `Event` invoke)."""

    def invoke_async(self, function: str, payload: dict[str, Any]) -> None: ...


class CheckRecords(Protocol):
    """Which of these check ids the event path recorded (OnTarballCreated's or CheckSiblings' record)."""

    def seen(self, check_ids: Sequence[str]) -> set[str]: ...
