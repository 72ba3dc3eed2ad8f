"""In-memory stand-ins for the ports; tests assert on what they hold, not on which calls were made."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from sibling_sentinel.domain.objects import FolderPage, ListedObject

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
        self.fail_under: tuple[str, Exception] | None = None  # any listing of this prefix or below fails
        self.heads: list[str] = []
        self.folders_listed: list[str] = []
        self.trees_listed: list[str] = []

    def _maybe_fail(self, prefix: str) -> None:
        if self.fail_under is not None and prefix.startswith(self.fail_under[0]):
            raise self.fail_under[1]

    def pages(self, bucket: str, prefix: str) -> Iterator[Sequence[ListedObject]]:
        self._maybe_fail(prefix)
        self.trees_listed.append(prefix)
        keys = sorted(k for k in self.objects if k.startswith(prefix))
        for n, start in enumerate(range(0, len(keys), self.page_size)):
            if self.fail_after_pages is not None and n >= self.fail_after_pages[0]:
                raise self.fail_after_pages[1]
            yield [self.objects[k] for k in keys[start : start + self.page_size]]

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
                [name for name in page if entries[name] is None],
            )

    def head(self, bucket: str, key: str) -> ListedObject | None:
        self.heads.append(key)
        return self.objects.get(key)


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

    def publish(self, subject: str, message: str) -> None:
        self.alerts.append((subject, message))


class FakeCounter:
    def __init__(self) -> None:
        self.values: list[tuple[str, float]] = []

    def count(self, name: str, value: float = 1) -> None:
        self.values.append((name, value))

    def seconds(self, name: str, value: float) -> None:
        self.values.append((name, value))

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
