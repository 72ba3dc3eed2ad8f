"""In-memory stand-ins for the ports; tests assert on what they hold, not on which calls were made."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sibling_sentinel.domain.core.objects import FolderPage, ListedObject, ListedPage, StoredChecksum
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.errors import ObjectNotFoundError

T = TypeVar("T")

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def obj(
    key: str, size: int = 1000, age_s: float = 86400, now: datetime = NOW, etag: str = "e"
) -> ListedObject:
    return ListedObject(key, size, now - timedelta(seconds=age_s), etag)


class FakeBucket:
    """Objects by key; lists them in S3 order in pages, or fails the way it is told to."""

    def __init__(self, objects: Iterable[ListedObject] = (), page_size: int = 1000) -> None:
        self.objects = {o.key: o for o in objects}
        self.page_size = page_size
        self.fail_after_pages: tuple[int, Exception] | None = None
        self.finds: list[list[str]] = []
        self.bodies: dict[str, bytes] = {}
        self.reads: list[str] = []
        self.fail_reads: Exception | None = None
        self.fail_under: tuple[str, Exception] | None = None  # any listing of this prefix or below fails
        self.folders_listed: list[str] = []
        self.trees_listed: list[str] = []
        self.ranges_listed: list[tuple[str, str]] = []  # (prefix, start_after) of every flat listing
        self.hidden_folders: set[str] = set()  # left out of delimiter listings, as some servers do
        # pages as S3Lister gives them (columns, see ListedPage), so sweeps take their fast path; a page
        # whose times have no canonical form stays a list of objects, as the lean parser leaves it
        self.as_columns = True

    def put(self, key: str, body: bytes, age_s: float = 86400) -> None:
        """An object whose content matters (a manifest): listed with its real size."""
        self.objects[key] = obj(key, size=len(body), age_s=age_s)
        self.bodies[key] = body

    def _maybe_fail(self, prefix: str, names: Iterable[str] = ()) -> None:
        """Fails a listing of the prefix, or one that reaches a key under it (a key range's listing)."""
        if self.fail_under is None:
            return
        under = self.fail_under[0]
        if prefix.startswith(under) or any(n.startswith(under) for n in names):
            raise self.fail_under[1]

    def pages(
        self, bucket: str, prefix: str, start_after: str = ""
    ) -> Generator[Sequence[ListedObject], None, None]:
        self._maybe_fail(prefix)
        self.trees_listed.append(prefix)
        self.ranges_listed.append((prefix, start_after))
        keys = sorted(k for k in self.objects if k.startswith(prefix) and k > start_after)
        for n, start in enumerate(range(0, len(keys), self.page_size)):
            if self.fail_after_pages is not None and n >= self.fail_after_pages[0]:
                raise self.fail_after_pages[1]
            page = keys[start : start + self.page_size]
            self._maybe_fail(prefix, page)
            listed = [self.objects[k] for k in page]
            yield (ListedPage.of(listed) or listed) if self.as_columns else listed

    def folder(self, bucket: str, prefix: str) -> Iterator[FolderPage]:
        """A `Delimiter="/"` listing: the folder's own objects and its sub-folders, page by page."""
        self._maybe_fail(prefix)
        entries: dict[str, ListedObject | None] = {}
        for key in self.objects:
            if key.startswith(prefix):
                slash = key.find("/", len(prefix))
                if slash < 0:
                    entries[key] = self.objects[key]
                else:
                    entries[key[: slash + 1]] = None
        names = sorted(entries)
        self.folders_listed.append(prefix)
        for n, start in enumerate(range(0, max(len(names), 1), self.page_size)):
            if self.fail_after_pages is not None and n >= self.fail_after_pages[0]:
                raise self.fail_after_pages[1]
            page = names[start : start + self.page_size]
            yield FolderPage(
                [o for name in page if (o := entries[name]) is not None],
                [name for name in page if entries[name] is None and name not in self.hidden_folders],
            )

    def find(self, bucket: str, keys: Iterable[str]) -> dict[str, ListedObject]:
        asked = list(keys)
        self.finds.append(asked)
        return {k: self.objects[k] for k in asked if k in self.objects}

    def read_manifest(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        self.reads.append(key)
        if self.fail_reads is not None:
            raise self.fail_reads
        if key not in self.objects:
            return None
        return self.bodies.get(key, b"")[: max_bytes + 1]

    def stored_checksum(self, bucket: str, key: str) -> StoredChecksum | None:
        if key not in self.objects:
            return None
        return StoredChecksum(None, None, False)


def manifest_body(relative_path: str, **fields: Any) -> bytes:
    """A manifest that passes every rule, with any field replaced (None removes it)."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "corpus_format_version": 3,
        "created_at": "2026-11-20T03:00:00Z",
        "producer": {"git_sha": "0123456789abcdef0123456789abcdef01234567"},
        "archive": {"relative_path": relative_path},
    }
    for name, value in fields.items():
        if value is None:
            doc.pop(name, None)
        else:
            doc[name] = value
    return json.dumps(doc).encode("utf-8")


class SerialPool:
    """Runs nothing until its result is asked for, and remembers the most work it held at once."""

    def __init__(self) -> None:
        self.held = 0
        self.most_held = 0

    def submit(self, work: Callable[[], T]) -> Callable[[], T]:
        self.held += 1
        self.most_held = max(self.most_held, self.held)

        def result() -> T:
            self.held -= 1
            return work()

        return result


class FakeClock:
    def __init__(self, start: datetime = NOW, step_s: float = 0.0) -> None:
        self.now = start
        self.step = timedelta(seconds=step_s)

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current


class FakeQueue:
    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[tuple[object, int]] = []
        self.fail_times = fail_times

    def send(self, messages: Sequence[object], delay_s: int) -> None:
        if self.fail_times:
            self.fail_times -= 1
            from sibling_sentinel.adapters.sqs import UnsentMessagesError

            raise UnsentMessagesError(f"{len(messages)} checks not queued")
        self.sent += [(m, delay_s) for m in messages]


class FakeBus:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def put(self, detail_type: str, detail: dict[str, object]) -> None:
        self.events.append((detail_type, detail))


class FakeNotifier:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str]] = []
        self.kinds: list[str] = []

    def publish(self, subject: str, message: str, kind: str) -> None:
        self.alerts.append((subject, message))
        self.kinds.append(kind)


class FakeCounter:
    def __init__(self) -> None:
        self.values: list[tuple[str, float]] = []

    def count(self, name: str, value: float = 1) -> None:
        self.values.append((name, value))

    def seconds(self, name: str, value: float) -> None:
        self.values.append((name, value))

    def percent(self, name: str, value: float) -> None:
        self.values.append((name, value))

    def as_dict(self) -> dict[str, float]:
        return dict(self.values)

    def names(self) -> list[str]:
        return [n for n, _ in self.values]


class FakeLog:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def _add(self, level: str, msg: str, extra: dict[str, object] | None = None) -> None:
        self.lines.append((level, msg, extra or {}))

    def info(self, msg: str, *args: object, extra: dict[str, object] | None = None) -> None:
        self._add("info", msg, extra)

    def debug(self, msg: str, *args: object, extra: dict[str, object] | None = None) -> None:
        self._add("debug", msg, extra)

    def warning(self, msg: str, *args: object, extra: dict[str, object] | None = None) -> None:
        self._add("warning", msg, extra)

    def error(self, msg: str, *args: object, extra: dict[str, object] | None = None) -> None:
        self._add("error", msg, extra)


class FakeReportStore:
    """Keeps each report's JSON by key, as S3 would."""

    def __init__(self, bucket: str = "reports") -> None:
        self.bucket = bucket
        self.saved: dict[str, dict[str, object]] = {}

    def put(self, key: str, report: Report) -> str:
        from sibling_sentinel.domain.sweep.full_sweep import AlreadyReportedError

        if key in self.saved:  # S3's If-None-Match: *
            raise AlreadyReportedError(f"{key} is already written")
        self.saved[key] = report.to_dict()
        return f"s3://{self.bucket}/{key}"


class FakeCheckpoints:
    """Keeps each checkpoint as the text S3 would hold, so writing and reading back are exercised."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def save(self, key: str, checkpoint: Any) -> None:
        import io

        buffer = io.StringIO()
        checkpoint.write(buffer)
        self.saved[key] = buffer.getvalue()

    def load(self, key: str) -> Any:
        from sibling_sentinel.domain.sweep.checkpoint import Checkpoint

        return Checkpoint.read(iter(self.saved[key].splitlines()))

    def delete(self, key: str) -> None:
        self.saved.pop(key, None)


class FakeInvoker:
    def __init__(self) -> None:
        self.invoked: list[tuple[str, dict[str, Any]]] = []

    def invoke_async(self, function: str, payload: dict[str, Any]) -> None:
        self.invoked.append((function, payload))


class FakeInventoryFiles:
    """An inventory's objects by (bucket, key); remembers which data files were opened."""

    def __init__(self, bucket: str, bodies: dict[str, bytes]) -> None:
        self.bodies = {(bucket, k): v for k, v in bodies.items()}
        self.opened: list[str] = []

    def read(self, bucket: str, key: str) -> bytes:
        return self.open(bucket, key).read()

    def open(self, bucket: str, key: str) -> io.BytesIO:
        if (bucket, key) not in self.bodies:
            raise ObjectNotFoundError(f"s3://{bucket}/{key}: no such object")
        self.opened.append(key)
        return io.BytesIO(self.bodies[(bucket, key)])


class FullSweepRig:
    """FullSweep over fakes of every port; continuation ports too, for the chain tests."""

    def __init__(
        self,
        objects: Iterable[ListedObject],
        page_size: int = 1000,
        report_prefix: str = "sibling-sentinel/reports/",
        clock_step_s: float = 0.5,
        max_invocations: int = 48,
        concurrency: int = 1,
        fleet: Any = None,
        seen: set[str] | None = None,
    ) -> None:
        from sibling_sentinel.config import Config
        from sibling_sentinel.domain.sweep.full_sweep import FullSweep

        self.bucket = FakeBucket(objects, page_size=page_size)
        self.store = FakeReportStore()
        self.checkpoints = FakeCheckpoints()
        self.invoker = FakeInvoker()
        self.bus = FakeBus()
        self.alerts = FakeNotifier()
        self.metrics = FakeCounter()
        self.log = FakeLog()
        self.clock = FakeClock(NOW, step_s=clock_step_s)
        self.service = FullSweep(
            lister=self.bucket,
            policy=Config().policy(),
            group_depth=1,
            bucket="b",
            watched_prefix="backups/",
            report_prefix=report_prefix,
            store=self.store,
            bus=self.bus,
            alerts=self.alerts,
            metrics=self.metrics,
            log=self.log,
            clock=self.clock,
            checkpoints=self.checkpoints,
            invoker=self.invoker,
            max_invocations=max_invocations,
            concurrency=concurrency,
            **self._fleet(fleet, seen),
        )

    def _fleet(self, fleet: Any, seen: set[str] | None) -> dict[str, Any]:
        """Fleet health's ports: the previous run from this rig's own store, and the event path's records."""
        from sibling_sentinel.domain.sweep.fleet import EventPathWatch

        self.history = FakeRunHistory(self.store)
        self.records = FakeCheckRecords(seen)
        if fleet is None:
            return {}
        return {"fleet": fleet, "history": self.history, "watch": EventPathWatch(self.records, 3900)}


def essence(report: Report) -> dict[str, Any]:
    """All a report says, with findings in key order (shards finish in any order)."""
    whole = report.to_dict()
    whole["findings"] = sorted(whole["findings"], key=lambda f: (f["key"], f["rule"]))
    return whole


class FakeReportPages:
    """HTML pages and the run history by key, as S3 would hold them."""

    def __init__(self, bucket: str = "reports", runs: list[dict[str, Any]] | None = None) -> None:
        self.bucket = bucket
        self.pages: dict[str, str] = {}
        self.kept: dict[str, list[dict[str, Any]]] = {}
        self._runs = runs or []

    def put_page(self, key: str, page: str) -> str:
        self.pages[key] = page
        return f"s3://{self.bucket}/{key}"

    def history(self, key: str) -> list[dict[str, Any]]:
        return list(self.kept.get(key, self._runs))

    def keep_history(self, key: str, runs: Any) -> None:
        self.kept[key] = [dict(run) for run in runs]


class FakeRunHistory:
    """The previous run, read back from the reports the rig's store holds, as the S3 pointer does."""

    def __init__(self, store: FakeReportStore) -> None:
        self.store = store
        self.latest: str | None = None

    def previous(self) -> Any:
        from sibling_sentinel.domain.sweep.fleet import PreviousRun

        if self.latest is None:
            return None
        key = self.latest.split("/", 3)[3]
        return PreviousRun.from_report(self.latest, self.store.saved[key])

    def remember(self, uri: str, report: Report) -> None:
        self.latest = uri


class FakeCheckRecords:
    """The idempotency table's records, by check id; None: the event path saw every upload."""

    def __init__(self, seen: set[str] | None) -> None:
        self.ids = seen
        self.asked: list[list[str]] = []

    def seen(self, check_ids: Sequence[str]) -> set[str]:
        self.asked.append(list(check_ids))
        return set(check_ids) if self.ids is None else self.ids & set(check_ids)
