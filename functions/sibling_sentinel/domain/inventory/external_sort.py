"""An external merge sort of listed objects into S3 key order, in bounded memory.

An S3 Inventory lists objects in no particular order, and the reconciler needs them in strict key
order. Sorting them all in memory would cost memory in proportion to the bucket, so:

1. `sorted_runs` reads objects and keeps at most `run_rows` of them; each time the buffer is full it is
   sorted and spilled to an anonymous temporary file (a *run*), gzip-compressed at level 1 because
   sorted keys share long prefixes and compress several-fold;
2. `merged` reads every run at once and merges them with a heap, holding one object per run;
3. when there are more runs than `fan_in` (open files are limited: 1,024 in Lambda), groups of
   `fan_in` runs are first merged into longer runs, so at most `fan_in` files are open at a time.

Memory is therefore at most `run_rows` objects while spilling (per reader, see `Inventory`), then
`fan_in` objects plus `fan_in` decompression buffers (about 40 KiB each) while merging. Disk is the
spilled rows, compressed.

Python compares `str` by code point, which is the same order as comparing their UTF-8 bytes, which
is S3's key order.
"""

from __future__ import annotations

import gzip
import heapq
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from ..core.objects import ListedObject

DEFAULT_RUN_ROWS = 200_000
DEFAULT_FAN_IN = 256


def _key(obj: ListedObject) -> str:
    return obj.key


class Run:
    """Objects in key order, spilled to an anonymous temporary file; read back as often as asked."""

    def __init__(self, objects: Iterable[ListedObject]) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close(), once merged)
        self.rows = 0
        with gzip.GzipFile(fileobj=self._file, mode="wb", compresslevel=1) as out:
            pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
            for obj in objects:
                # A tuple, not the object: it pickles smaller and needs no class lookup to load.
                pickler.dump((obj.key, obj.size, obj.last_modified, obj.etag))
                pickler.clear_memo()
                self.rows += 1

    def __iter__(self) -> Iterator[ListedObject]:
        self._file.seek(0)
        with gzip.GzipFile(fileobj=self._file, mode="rb") as data:
            for _ in range(self.rows):
                key, size, last_modified, etag = pickle.load(data)  # noqa: S301 (our own temporary file)
                yield ListedObject(key, size, last_modified, etag)

    def close(self) -> None:
        self._file.close()


def sorted_runs(objects: Iterable[ListedObject], run_rows: int = DEFAULT_RUN_ROWS) -> list[Run]:
    """Runs of at most `run_rows` objects each, every run sorted by key."""
    if run_rows < 1:
        raise ValueError(f"run_rows must be 1 or more, got {run_rows}")
    runs: list[Run] = []
    buffer: list[ListedObject] = []
    try:
        for obj in objects:
            buffer.append(obj)
            if len(buffer) == run_rows:
                runs.append(Run(sorted(buffer, key=_key)))
                buffer = []
        if buffer:
            runs.append(Run(sorted(buffer, key=_key)))
    except BaseException:
        close_all(runs)
        raise
    return runs


def merged(runs: Sequence[Run], fan_in: int = DEFAULT_FAN_IN) -> Iterator[ListedObject]:
    """Every object of every run, in key order; closes the runs it is given and any it makes."""
    if fan_in < 2:
        raise ValueError(f"fan_in must be 2 or more, got {fan_in}")
    current = list(runs)
    try:
        while len(current) > fan_in:
            groups = [current[i : i + fan_in] for i in range(0, len(current), fan_in)]
            longer = []
            for group in groups:
                longer.append(Run(heapq.merge(*group, key=_key)))
                close_all(group)
            current = longer
        yield from heapq.merge(*current, key=_key)
    finally:
        close_all(current)


def close_all(runs: Iterable[Run]) -> None:
    for run in runs:
        run.close()


def pages_of(objects: Iterable[ListedObject], size: int) -> Iterator[list[ListedObject]]:
    page: list[ListedObject] = []
    for obj in objects:
        page.append(obj)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
