"""In-memory stand-ins for the ports; tests assert on what they hold, not on which calls were made."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from sibling_sentinel.domain.objects import ListedObject

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def obj(key: str, size: int = 1000, age_s: float = 86400, now: datetime = NOW, etag: str = "e") -> ListedObject:
    return ListedObject(key, size, now - timedelta(seconds=age_s), etag)


class FakeBucket:
    """Objects by key; lists them in S3 order in pages, or fails the way it is told to."""

    def __init__(self, objects: Iterable[ListedObject] = (), page_size: int = 1000) -> None:
        self.objects = {o.key: o for o in objects}
        self.page_size = page_size
        self.fail_after_pages: tuple[int, Exception] | None = None
        self.heads: list[str] = []

    def pages(self, bucket: str, prefix: str) -> Iterator[Sequence[ListedObject]]:
        keys = sorted(k for k in self.objects if k.startswith(prefix))
        for n, start in enumerate(range(0, len(keys), self.page_size)):
            if self.fail_after_pages is not None and n >= self.fail_after_pages[0]:
                raise self.fail_after_pages[1]
            yield [self.objects[k] for k in keys[start : start + self.page_size]]

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
