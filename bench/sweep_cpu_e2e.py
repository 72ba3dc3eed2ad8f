"""The product's CPU seconds per key, end to end, here and in a baseline checkout, in turn.

    .venv/bin/python bench/sweep_cpu_e2e.py --baseline /work/base-18 --keys 1000000 --rounds 3

Starts one `s3_endpoint.py` (0 ms added per request unless `--latency-ms`), then each round runs
`sibling-sentinel sweep --format json` (at each `--concurrency`, on the CLI's default worker processes)
from the baseline's `functions/` and from this tree's, one after the other. A run's CPU is the user +
system time of the CLI and every worker process it waited for (`getrusage(RUSAGE_CHILDREN)`), from
listing to the written report; the endpoint's is not counted. Prints each run and the medians, in µs
per key, with this tree's over the baseline's. Both must report the same counts. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from list_speed import CREDENTIALS, start_endpoint
from s3_endpoint import BUCKET, PREFIX

HERE = Path(__file__).resolve().parent


def sweep(tree: Path, endpoint: str, concurrency: int) -> tuple[float, float, dict[str, int]]:
    """(CPU s, wall s, counts) of one sweep by the CLI of `tree`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | CREDENTIALS
    env["PYTHONPATH"] = str(tree / "functions")
    cmd = [sys.executable, "-m", "sibling_sentinel.cli", "sweep", f"s3://{BUCKET}/{PREFIX}"]
    cmd += ["--endpoint-url", endpoint, "--format", "json", "--concurrency", str(concurrency)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree}: exit {done.returncode}: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, json.loads(done.stdout)["counts"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 1])
    args = parser.parse_args()
    trees = {"baseline": args.baseline.resolve(), "this": HERE.parent}
    server, endpoint = start_endpoint(args.keys, args.latency_ms)
    try:
        runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for n in range(args.rounds):
            for concurrency in args.concurrency:
                counts = []
                for name, tree in trees.items():
                    cpu, wall, got = sweep(tree, endpoint, concurrency)
                    runs.setdefault((name, concurrency), []).append((cpu, wall))
                    counts.append(got)
                    print(
                        f"round {n + 1}, --concurrency {concurrency}, {name}: CPU {cpu:.2f} s, {wall:.2f} s"
                    )
                if counts[0] != counts[1]:
                    raise SystemExit(f"the counts differ: {counts}")
    finally:
        server.terminate()
        server.wait()
    print(f"\n{args.keys:,} keys, {args.latency_ms:g} ms per request, medians of {args.rounds} rounds:")
    for concurrency in args.concurrency:
        base, this = runs[("baseline", concurrency)], runs[("this", concurrency)]
        ratio = [t[0] / b[0] for t, b in zip(this, base, strict=True)]
        wall_ratio = [t[1] / b[1] for t, b in zip(this, base, strict=True)]
        per_key = [statistics.median(c for c, _ in r) / args.keys * 1e6 for r in (base, this)]
        print(
            f"--concurrency {concurrency}: CPU µs/key baseline {per_key[0]:.2f}, this {per_key[1]:.2f}, "
            f"this/baseline {statistics.median(ratio):.2f} (min {min(ratio):.2f}, max {max(ratio):.2f}); "
            f"wall this/baseline {statistics.median(wall_ratio):.2f}"
        )


if __name__ == "__main__":
    main()
