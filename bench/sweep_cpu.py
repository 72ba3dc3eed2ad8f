"""The sweep's CPU per key, in-process and without a network: the page parser, and the domain.

It renders `list_speed.py`'s dataset as the loopback endpoint serves it (real ListObjectsV2 XML,
`encoding-type=url`), then times, each as the best of `--repeat` runs:

- `parse`: the lean page parser on every page, into what `S3Lister` yields (a `ListedPage` of
  columns, keys decoded as botocore's `after-call` handler would decode them, objects not yet built);
- `domain`: a `Reconciler` fed page by page as the sweep feeds it (its fast path on, ok tarballs
  counted with `Report.add_ok`), every other outcome into the `Report`, and the JSON rendered.

No botocore request path, threads or sockets: this is the part of `list_speed.py`'s product time
that the product's own code spends. `--profile domain` (or `parse`) prints cProfile's top functions
instead. A benchmark, not a test. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from s3_endpoint import PREFIX, Listing, dataset
from sibling_sentinel.adapters import list_page
from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.sweep.reconcile import Reconciler
from sibling_sentinel.domain.sweep.report import Report

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def bodies(keys: int) -> list[str]:
    listing = Listing(dataset(keys, hosts=50))
    out, query = [], {"list-type": "2", "prefix": PREFIX, "encoding-type": "url"}
    while True:
        body = listing.page(query).decode("utf-8")
        out.append(body)
        if "<NextContinuationToken>" not in body:
            return out
        query["continuation-token"] = body.split("<NextContinuationToken>")[1].split("<")[0]


def parse(pages: list[str]) -> list[Sequence[ListedObject]]:
    parsed = []
    for body in pages:
        objects: Any = list_page.read(body)[0]
        parsed.append(objects)
    return parsed


def domain(pages: list[Sequence[ListedObject]]) -> Report:
    report = Report("bench-bucket", PREFIX, 0, started_at=NOW)
    reconciler = Reconciler(Config().policy(), NOW, tally=True)
    for page in pages:
        for outcome in reconciler.feed_page(page):
            report.add(outcome)
        report.add_ok(reconciler.take_ok())
    for outcome in reconciler.finish():
        report.add(outcome)
    report.write_json(io.StringIO())
    return report


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", choices=["parse", "domain"])
    args = parser.parse_args()
    xml = bodies(args.keys)
    objects = parse(xml)
    runs: dict[str, Callable[[], object]] = {"parse": lambda: parse(xml), "domain": lambda: domain(objects)}
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(runs[args.profile])
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        return
    counts = domain(objects).to_counts()
    print(f"{args.keys:,} keys, {counts['tarballs']:,} tarballs, {counts['missing']:,} missing")
    for name, run in runs.items():
        seconds = best_of(args.repeat, run)
        print(f"{name:7} {seconds:6.3f} s  {seconds / args.keys * 1e6:5.2f} us per key")


if __name__ == "__main__":
    main()
