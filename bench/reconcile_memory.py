"""Peak memory and time of reconciling a large listing, streamed vs held in a dict.

    python bench/reconcile_memory.py --keys 1000000            # both modes + import baseline, a table
    python bench/reconcile_memory.py --keys 1000000 --mode stream   # one mode in this process

The default run starts one child process per mode under `/usr/bin/time -v` and compares the
streaming sweep (the product) with a brute-force baseline measured in the same run, so the
ratios mean something on a noisy machine. It exits non-zero when the streaming sweep peaks at
or above the RSS budget. This is a benchmark, not a test: nothing here belongs in pytest.
See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.core.rules import Anchor
from sibling_sentinel.domain.core.verdicts import Orphan, Outcome, Verdict
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.domain.sweep.sweep import Sweep
from timing import TIMED, run_measured

BUCKET = "bench-bucket"
PREFIX = "backups/"
PAGE_SIZE = 1000  # what ListObjectsV2 returns per page
BUDGET_MB = 200  # MiB of peak RSS for the streaming sweep (the budget)

# The dataset: hosts under PREFIX, one nightly tarball per day each, 2 a.m. plus jitter.
FIRST_DAY = datetime(2024, 1, 1, 2, 0, tzinfo=UTC)
DAYS_PER_HOST = 365
NOW = FIRST_DAY + timedelta(days=DAYS_PER_HOST - 1, hours=1, minutes=30)  # last night's run is young
SEED = 20240101
ORPHAN_RATE = 0.0002  # a listing whose tarball was deleted
MISSING_RATE = 0.01  # a tarball without its listing
UNDERSIZED_RATE = 0.005  # a listing under min_listing_bytes (a truncated upload)
CHECKSUM_RATE = 0.25  # a `.sha256` next to the tarball
SKIPPED_DAY_RATE = 0.02  # the host did not back up that night
LATE_LISTING_RATE = 0.2  # last night's listing not uploaded yet (pending, within the grace period)
LOGS_PER_HOST = 52  # weekly logs in a `logs/` sub-folder the sweep must step over


def listing(keys: int, missing_rate: float = MISSING_RATE, seed: int = SEED) -> Iterator[ListedObject]:
    """Exactly `keys` objects in strictly ascending S3 key order, generated one at a time.

    Per host `backups/host00000/`: for each day `YYYY-MM-DD.tar.zst`, its `.list.txt` and
    sometimes a `.sha256`; then `README.txt` and `logs/*` (digits < upper case < lower case,
    so this is S3 order). Keys are ASCII, so str order is S3's byte order.
    """
    return itertools.islice(_hosts(random.Random(seed), missing_rate), keys)


def _etag(rng: random.Random) -> str:
    return f'"{rng.getrandbits(128):032x}"'


def _hosts(rng: random.Random, missing_rate: float) -> Iterator[ListedObject]:
    for host in itertools.count():
        if host >= 100_000:
            raise ValueError("host numbers would outgrow their zero padding and break key order")
        folder = f"{PREFIX}host{host:05d}/"
        for day in range(DAYS_PER_HOST):
            if rng.random() < SKIPPED_DAY_RATE:
                continue
            when = FIRST_DAY + timedelta(days=day, seconds=rng.randrange(3600))
            tarball = f"{folder}{when:%Y-%m-%d}.tar.zst"
            listed = when + timedelta(seconds=rng.randrange(20, 600))
            roll = rng.random()
            if roll < ORPHAN_RATE:  # the tarball is gone, its listing stayed behind
                yield ListedObject(tarball + ".list.txt", rng.randrange(2_000, 400_000), listed, _etag(rng))
                continue
            yield ListedObject(tarball, rng.randrange(10**8, 10**10), when, _etag(rng))
            late = day == DAYS_PER_HOST - 1 and rng.random() < LATE_LISTING_RATE
            if not late and roll >= ORPHAN_RATE + missing_rate:
                undersized = roll < ORPHAN_RATE + missing_rate + UNDERSIZED_RATE
                size = rng.randrange(64) if undersized else rng.randrange(2_000, 400_000)
                yield ListedObject(tarball + ".list.txt", size, listed, _etag(rng))
            if rng.random() < CHECKSUM_RATE:
                yield ListedObject(tarball + ".sha256", 84, listed, _etag(rng))
        yield ListedObject(folder + "README.txt", 512, FIRST_DAY, _etag(rng))
        for week in range(LOGS_PER_HOST):
            when = FIRST_DAY + timedelta(weeks=week)
            yield ListedObject(f"{folder}logs/{when:%Y-%m-%d}.log", rng.randrange(10**6), when, _etag(rng))
        # `notes.list.txt` ends like a listing but lists no tarball: neither a sibling nor an orphan.
        yield ListedObject(folder + "logs/notes.list.txt", 300, FIRST_DAY, _etag(rng))


class GeneratedLister:
    """The fake lister: pages of PAGE_SIZE, each built only when the sweep asks for it."""

    def __init__(self, keys: int, missing_rate: float = MISSING_RATE) -> None:
        self.keys = keys
        self.missing_rate = missing_rate

    def pages(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[Sequence[ListedObject]]:
        if (bucket, prefix, start_after) != (BUCKET, PREFIX, ""):
            raise ValueError(f"this lister only lists s3://{BUCKET}/{PREFIX} from its start")
        objects = listing(self.keys, self.missing_rate)
        while page := list(itertools.islice(objects, PAGE_SIZE)):
            yield page


def run_stream(keys: int, missing_rate: float = MISSING_RATE) -> Report:
    """The product: Sweep over a paged listing, building the full report and rendering its JSON."""
    config = Config(prefix=PREFIX)
    lister = GeneratedLister(keys, missing_rate)
    sweep = Sweep(lister, config.policy(), config.threshold, config.group_depth, lambda: NOW)
    report = sweep.run(BUCKET, PREFIX)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        report.write_json(sink)
    return report


def run_oracle(keys: int, missing_rate: float = MISSING_RATE) -> Report:
    """The baseline: every key in a dict first, then judge each tarball and look up each sibling's owner."""
    config = Config(prefix=PREFIX)
    pol = config.policy()
    objects: dict[str, ListedObject] = {}
    for page in GeneratedLister(keys, missing_rate).pages(BUCKET, PREFIX):
        for obj in page:
            objects[obj.key] = obj
    stems = None
    if any(rule.anchor is Anchor.STEM for rule in pol.rules):
        stems = {pol.naming.stem(k) for k in objects if pol.naming.is_tarball(k)}
    report = Report(BUCKET, PREFIX, config.threshold, config.group_depth, started_at=NOW)
    for key, obj in objects.items():
        outcomes: list[Outcome] = []
        if pol.naming.is_tarball(key):
            found = {k: objects[k] for k in pol.sibling_keys(key) if k in objects}
            outcomes.append(pol.judge(obj, found, NOW))
        for rule in pol.rules:
            base = rule.base_of(key)
            if base is None:
                continue
            if rule.anchor is Anchor.KEY:
                if pol.naming.is_tarball(base) and base not in objects:
                    outcomes.append(Orphan(obj, rule, base))
            elif stems is not None and base not in stems:
                outcomes.append(Orphan(obj, rule, base + ".*"))
        for outcome in outcomes:
            report.add(outcome)
    report.objects_listed = len(objects)
    return report


def summary(report: Report) -> dict[str, Any]:
    """What both modes must agree on, with an order-free digest of every finding and group.

    Built without rendering or sorting the findings, so the check adds next to nothing to the peak.
    """
    total = 0
    for f in report.findings:
        line = f"{f['key']}\0{f['verdict']}\0{f['sibling']}\0{f['rule']}\0{f['reason']}"
        total += int.from_bytes(hashlib.sha256(line.encode()).digest())
    for name, group in report.groups.items():
        line = json.dumps([name, group.to_dict()], sort_keys=True)
        total += int.from_bytes(hashlib.sha256(line.encode()).digest())
    totals = report.counts
    counts = {"tarballs": totals["tarballs"], **{v.value: totals[v.value] for v in Verdict}}
    return {
        "objects_listed": report.objects_listed,
        "tarballs": counts["tarballs"],
        "counts": counts,
        "problems": report.problems,
        "groups": len(report.groups),
        "findings": len(report.findings),
        "digest": f"{total % 2**64:016x}",
    }


def max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def run_mode(mode: str, keys: int, missing_rate: float = MISSING_RATE) -> dict[str, Any]:
    started = time.perf_counter()
    report = (run_stream if mode == "stream" else run_oracle)(keys, missing_rate)
    result: dict[str, Any] = {"mode": mode, "keys": keys, "seconds": time.perf_counter() - started}
    result.update(summary(report))
    result["max_rss_kb"] = max_rss_kb()
    return result


# --- the default run: each mode in its own process, measured from outside ---------------------


def measure(mode: str, keys: int, missing_rate: float = MISSING_RATE) -> dict[str, Any]:
    """Run one mode in a child; peak RSS and wall time from `/usr/bin/time -v` when it is there."""
    args = ["--mode", mode, "--keys", str(keys), "--missing-rate", str(missing_rate)]
    print(f"running {mode} with --keys {keys} ...", file=sys.stderr, flush=True)
    m = run_measured([sys.executable, os.path.abspath(__file__), *args])
    if m.returncode != 0:
        sys.stderr.write(m.stdout + m.stderr)
        raise SystemExit(f"{mode} child failed with exit code {m.returncode}")
    lines = [line for line in m.stdout.splitlines() if line.startswith("RESULT ")]
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    timed = m.source == TIMED
    # without /usr/bin/time, the child's own ru_maxrss: the parent's RUSAGE_CHILDREN is the largest child's
    result["process_rss_kb"] = m.rss_kb if timed else result["max_rss_kb"]
    result["process_s"] = m.seconds
    result["source"] = m.source if timed else "ru_maxrss"
    return result


def _mb(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def compare(keys: int, missing_rate: float = MISSING_RATE) -> int:
    base = measure("baseline", 0)
    stream = measure("stream", keys, missing_rate)
    oracle = measure("oracle", keys, missing_rate)
    if stream["source"] != TIMED:
        print(
            "/usr/bin/time not found: peak RSS is the child's own ru_maxrss, seconds the parent's wall clock"
        )
    print(f"python {sys.version.split()[0]}, nproc {os.cpu_count()}, measured by {stream['source']}")
    print(f"import-only interpreter: peak RSS {_mb(base['process_rss_kb'])} MiB, {base['process_s']:.2f} s")
    print()
    floor = base["process_rss_kb"]
    header = ("mode", "keys", "peak RSS MiB", "over import MiB", "process s", "reconcile s")
    rows = [
        (
            r["mode"],
            f"{r['keys']:,}",
            _mb(r["process_rss_kb"]),
            _mb(r["process_rss_kb"] - floor),
            f"{r['process_s']:.2f}",
            f"{r['seconds']:.2f}",
        )
        for r in (stream, oracle)
    ]
    rows.append(
        (
            "stream/oracle",
            "",
            _ratio(stream["process_rss_kb"], oracle["process_rss_kb"]),
            _ratio(stream["process_rss_kb"] - floor, oracle["process_rss_kb"] - floor),
            _ratio(stream["process_s"], oracle["process_s"]),
            _ratio(stream["seconds"], oracle["seconds"]),
        )
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print()
    agreed = ("objects_listed", "tarballs", "counts", "problems", "groups", "findings", "digest")
    mismatched = [k for k in agreed if stream[k] != oracle[k]]
    print(f"objects {stream['objects_listed']:,}, tarballs {stream['tarballs']:,}", end=", ")
    print(f"problems {stream['problems']:,}")
    print("counts " + "  ".join(f"{k} {v}" for k, v in stream["counts"].items()))
    if mismatched:
        print(f"MISMATCH between stream and oracle in {mismatched}")
        for key in mismatched:
            print(f"  {key}: stream {stream[key]!r} oracle {oracle[key]!r}")
        return 2
    print(f"stream and oracle agree (findings digest {stream['digest']})")
    peak_mb = stream["process_rss_kb"] / 1024
    if peak_mb >= BUDGET_MB:
        print(f"OVER BUDGET: stream peak RSS {peak_mb:.1f} MiB >= {BUDGET_MB} MiB")
        return 1
    print(f"within budget: stream peak RSS {peak_mb:.1f} MiB < {BUDGET_MB} MiB")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keys", type=int, default=1_000_000, help="objects in the listing (default 1,000,000)"
    )
    parser.add_argument(
        "--mode",
        choices=("stream", "oracle", "baseline"),
        help="run one mode in this process (default: each mode in a child under /usr/bin/time -v)",
    )
    parser.add_argument(
        "--missing-rate",
        type=float,
        default=MISSING_RATE,
        help=f"share of tarballs without a listing (default {MISSING_RATE}); 1.0 is the worst case",
    )
    args = parser.parse_args(argv)
    if args.keys < 0:
        parser.error("--keys cannot be negative")
    if not 0 <= args.missing_rate <= 1:
        parser.error("--missing-rate must be between 0 and 1")
    if args.mode is None:
        return compare(args.keys, args.missing_rate)
    if args.mode == "baseline":  # only the imports at the top of this file
        result: dict[str, Any] = {"mode": "baseline", "keys": 0, "seconds": 0.0, "max_rss_kb": max_rss_kb()}
    else:
        result = run_mode(args.mode, args.keys, args.missing_rate)
        print(f"mode            {result['mode']}")
        print(f"objects_listed  {result['objects_listed']:,}")
        print(f"tarballs        {result['tarballs']:,}")
        print("counts          " + "  ".join(f"{k} {v}" for k, v in result["counts"].items()))
        print(f"problems        {result['problems']:,}")
        print(f"groups          {result['groups']:,}  findings {result['findings']:,}")
        print(f"wall seconds    {result['seconds']:.2f}")
        print(f"peak RSS        {_mb(result['max_rss_kb'])} MiB (ru_maxrss {result['max_rss_kb']} KiB)")
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
