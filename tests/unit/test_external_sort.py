"""The external merge sort: runs spilled to temporary files, merged back in S3 key (UTF-8 byte) order."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.inventory.external_sort import merged, pages_of, sorted_runs

from fakes import obj

KEYS = ["b", "a", "é", "A", "z/1", "z", "日本", "\U0001f600", "a b", "a+b", "a%2B", "~"]


def test_runs_hold_at_most_run_rows_each_and_are_each_sorted() -> None:
    # given 12 keys in no order
    objects = [obj(k) for k in KEYS]
    # when they are spilled in runs of 5
    runs = sorted_runs(objects, run_rows=5)
    # then there are 3 runs of 5, 5 and 2, each in key order, read back whole
    assert [run.rows for run in runs] == [5, 5, 2]
    for run in runs:
        keys = [o.key for o in run]
        assert keys == sorted(keys)
    # and a run can be read again, with every field intact
    assert list(runs[0]) == list(runs[0])
    assert {o for run in runs for o in run} == set(objects)


def test_merge_gives_utf8_byte_order_across_runs() -> None:
    # given keys whose code point order and UTF-8 byte order must agree (S3 lists in byte order)
    runs = sorted_runs([obj(k) for k in KEYS], run_rows=2)
    # when the runs are merged
    keys = [o.key for o in merged(runs)]
    # then the order is the UTF-8 byte order, everything once
    assert keys == sorted(KEYS, key=lambda k: k.encode("utf-8"))


def test_more_runs_than_the_fan_in_are_merged_in_passes() -> None:
    # given 50 runs of one key each, and at most 3 runs open at a time
    keys = [f"k{n:03d}" for n in range(50)]
    random.Random(1).shuffle(keys)
    runs = sorted_runs([obj(k) for k in keys], run_rows=1)
    # when merged
    out = [o.key for o in merged(runs, fan_in=3)]
    # then the output is complete and sorted
    assert out == sorted(keys)


def test_nothing_in_gives_nothing_out() -> None:
    assert sorted_runs([], run_rows=3) == []
    assert list(merged([])) == []


def test_sizes_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="run_rows"):
        sorted_runs([obj("a")], run_rows=0)
    with pytest.raises(ValueError, match="fan_in"):
        list(merged([], fan_in=1))


def test_a_failure_while_spilling_closes_the_runs_already_written() -> None:
    # given a source that fails after 4 objects, with runs of 2
    def failing() -> Iterator[ListedObject]:
        for k in "abcd":
            yield obj(k)
        raise OSError("disk full")

    # when spilled
    # then the error comes through (and the two runs written are closed, not leaked)
    with pytest.raises(OSError, match="disk full"):
        sorted_runs(failing(), run_rows=2)


def test_pages_are_full_but_the_last() -> None:
    objects = [obj(f"k{n}") for n in range(5)]
    assert [len(p) for p in pages_of(objects, 2)] == [2, 2, 1]


@settings(max_examples=200, deadline=None)
@given(
    keys=st.sets(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12), max_size=60),
    run_rows=st.integers(1, 9),
    fan_in=st.integers(2, 5),
)
def test_merge_output_is_sorted_and_complete(keys: set[str], run_rows: int, fan_in: int) -> None:
    # given any distinct keys in any order, any run size and any fan-in
    objects = [obj(k) for k in sorted(keys, key=hash)]
    # when sorted externally
    out = [o.key for o in merged(sorted_runs(objects, run_rows), fan_in)]
    # then every key comes out once, in UTF-8 byte order
    assert out == sorted(keys, key=lambda k: k.encode("utf-8"))
