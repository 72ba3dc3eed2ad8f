"""`sweep_cpu.py` here and in a baseline checkout, run in turn, so their ratio comes from one machine state.

    .venv/bin/python bench/sweep_cpu_ab.py --baseline /work/base-18 --keys 200000 --rounds 5

Each round runs the baseline's own `bench/sweep_cpu.py` (with its `functions/` on PYTHONPATH) and then
this tree's, each `--repeat` times within (best of). Prints every round and the medians: parse,
domain and their sum in µs per key, and this tree's over the baseline's. On a shared machine only
ratios from the same run compare (docs/BENCHMARKS.md). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINE = re.compile(r"^(parse|domain)\s+[0-9.]+ s\s+([0-9.]+) us per key", re.M)


def run(tree: Path, keys: int, repeat: int) -> dict[str, float]:
    env = os.environ | {"PYTHONPATH": f"{tree / 'functions'}{os.pathsep}{tree / 'bench'}"}
    out = subprocess.run(
        [sys.executable, str(tree / "bench" / "sweep_cpu.py"), "--keys", str(keys), "--repeat", str(repeat)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tree / "bench",
    ).stdout
    found = {name: float(us) for name, us in LINE.findall(out)}
    return {**found, "sum": found["parse"] + found["domain"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the code to compare with")
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"baseline": [], "this": []}
    for n in range(args.rounds):
        for name, tree in (("baseline", args.baseline.resolve()), ("this", HERE.parent)):
            rows[name].append(run(tree, args.keys, args.repeat))
        base, this = rows["baseline"][-1], rows["this"][-1]
        print(f"round {n + 1}: baseline {base}  this {this}", flush=True)
    print(f"\n{args.keys:,} keys, medians of {args.rounds} rounds (µs per key):")
    for part in ("parse", "domain", "sum"):
        base = statistics.median(r[part] for r in rows["baseline"])
        this = statistics.median(r[part] for r in rows["this"])
        ratios = [t[part] / b[part] for t, b in zip(rows["this"], rows["baseline"], strict=True)]
        print(
            f"{part:7} baseline {base:5.2f}  this {this:5.2f}  this/baseline {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
