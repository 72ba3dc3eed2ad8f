"""A bounded pool of worker threads for the domain's `Parallel` port (S3 reads are I/O-bound)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


class ThreadPool:
    """Use as a context manager: leaving it cancels work not yet started and waits for the rest."""

    def __init__(self, workers: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sentinel-read")

    def submit(self, work: Callable[[], T]) -> Callable[[], T]:
        return self._executor.submit(work).result

    def __enter__(self) -> ThreadPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
