"""Objects per 15-minute FullSweep invocation, measured at 1M keys, and SCALE.md's model checked against it.

On one loopback endpoint at `--latency-ms` a request (50: S3's in-region round trip), the real
FullSweep handler (`full_sweep_speed.py`'s dry-run child) runs with SWEEP_CONCURRENCY=`--concurrency`
(16, the template's default), for the previous release (`baseline.py`) and this one, alternating,
`--repeat` times (and this release with `startup.settle_after_startup` disabled, the GC A/B):

- at one page (1,000 keys): its start-up `s`, wall seconds (imports, clients, one request);
- at `--keys` (1,000,000): its wall seconds and its CPU (user + system), hence `c`, CPU per key.

From those it prints what one invocation can sweep, two ways: from the measured rate,
`(INVOCATION_S - s) x keys / (wall - s)`; and from SCALE.md's model with this run's `c`,
`(INVOCATION_S - s) / (latency / 1,000 / workers + c)` (waiting and working never overlapping, so the
lower bound). It also predicts the 1M-key wall with the model's fitted `c` (docs/BENCHMARKS.md's
tables, `scale_model.py`) and this run's, beside the measurement. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import baseline
from doc_block import publish, source_command
from full_sweep_speed import handler_env
from list_speed import _check, machine, start_endpoint
from scale_model import INVOCATION_S, PAGE, SCALE, SHARD_WORKERS, fit, measured_rows
from timing import Measured, run_measured

HERE = Path(__file__).resolve().parent
BLOCK = "full-sweep-scale"
UNTUNED = (  # the handler child with startup.py's GC tuning turned off, for the A/B
    "import sys; sys.path.insert(0, {here!r}); sys.argv = ['full_sweep_speed.py', '--handler-child']\n"
    "import sibling_sentinel.lambda_edge.startup as startup; startup.settle_after_startup = lambda: None\n"
    "import runpy; runpy.run_path({script!r}, run_name='__main__')"
)
GOAL = 50_000_000  # issue 18: objects per invocation at 50 ms a page


@dataclass
class Release:
    name: str
    functions: Path
    gc_tuned: bool = True
    start: list[Measured] = field(default_factory=list)
    full: list[Measured] = field(default_factory=list)


def invoke(release: Release, endpoint: str, keys: int, concurrency: int) -> Measured:
    env = baseline.env(release.functions, handler_env(endpoint, concurrency))
    script = str(HERE / "full_sweep_speed.py")
    child = [sys.executable, script, "--handler-child"]
    if not release.gc_tuned:
        child = [sys.executable, "-c", UNTUNED.format(here=str(HERE), script=script)]
    measured = run_measured(child, env)
    _check("naive", measured, keys)  # the child prints objects_listed, as the naive sweep does
    return measured


def rounds(releases: list[Release], keys: int, latency_ms: float, concurrency: int, repeat: int) -> None:
    for size, runs_of in ((PAGE, "start"), (keys, "full")):
        server, endpoint = start_endpoint(size, latency_ms)
        try:
            for n in range(repeat):
                for r in releases:
                    print(f"  {size:,} keys, round {n + 1}: {r.name} ...", file=sys.stderr, flush=True)
                    getattr(r, runs_of).append(invoke(r, endpoint, size, concurrency))
        finally:
            server.terminate()
            server.wait()


def per_invocation(s: float, c: float, latency_s: float, workers: int) -> float:
    return (INVOCATION_S - s) / (latency_s / PAGE / workers + c)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=SHARD_WORKERS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-gc-ab", action="store_true", help="leave out the GC-untuned handler")
    parser.add_argument("--write-doc", action="store_true", help=f"replace the table in {SCALE.name}")
    args = parser.parse_args()
    releases = [Release("previous release", baseline.tree()), Release("this release", baseline.CURRENT)]
    if not args.no_gc_ab:
        releases.append(Release("this release, GC untuned", baseline.CURRENT, gc_tuned=False))
    rounds(releases, args.keys, args.latency_ms, args.concurrency, args.repeat)
    latency = args.latency_ms / 1000
    pages = -(-args.keys // PAGE)
    fitted_c, _ = fit(measured_rows())
    command = source_command()
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}; `{command}`; previous release: "
        f"{baseline.describe()}.",
        f"FullSweep handler (dry run), SWEEP_CONCURRENCY={args.concurrency}, {args.latency_ms:g} ms a page, "
        f"{args.repeat} rounds alternating, median (min-max); an invocation is {INVOCATION_S} s "
        "(15 minutes less FullSweep's margin).",
        "",
        f"| release | start-up s (1 page) | wall s, {args.keys:,} keys | CPU µs per key | "
        "model wall s, this run's c | model wall s, SCALE.md's c | objects per invocation, measured rate "
        "| objects per invocation, model | goal ≥ 50M |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in releases:
        walls = [m.seconds for m in r.full]
        s = statistics.median(m.seconds for m in r.start)
        wall = statistics.median(walls)
        c = statistics.median(m.cpu_s for m in r.full) / args.keys
        cs = [m.cpu_s / args.keys * 1e6 for m in r.full]
        model = pages * latency / args.concurrency + args.keys * c + s
        model_fitted = pages * latency / args.concurrency + args.keys * fitted_c + s
        rate = (INVOCATION_S - s) * args.keys / (wall - s)
        modelled = per_invocation(s, c, latency, args.concurrency)
        lines.append(
            f"| {r.name} | {s:.2f} | {wall:.2f} ({min(walls):.2f}-{max(walls):.2f}) "
            f"| {statistics.median(cs):.1f} ({min(cs):.1f}-{max(cs):.1f}) "
            f"| {model:.2f} ({(model - wall) / wall:+.0%}) "
            f"| {model_fitted:.2f} ({(model_fitted - wall) / wall:+.0%}) "
            f"| {rate / 1e6:.1f}M | {modelled / 1e6:.1f}M "
            f"| {'met' if min(rate, modelled) >= GOAL else '**not met**'} |"
        )
    lines += [
        "",
        f"SCALE.md's `c` (fitted to docs/BENCHMARKS.md's list-speed tables) is {fitted_c * 1e6:.1f} µs "
        "per key. "
        "The model's sum (no overlap of waiting and working) is the lower bound; the measured rate is what "
        "this core did.",
    ]
    if not args.no_gc_ab:
        tuned, untuned = releases[1], releases[2]
        for what, of in (("CPU", lambda m: m.cpu_s), ("wall", lambda m: m.seconds)):
            per_round = [of(a) / of(b) for a, b in zip(tuned.full, untuned.full, strict=True)]
            lines.append(
                f"GC tuned ÷ untuned (lambda_edge/startup.py), {what}: {statistics.median(per_round):.2f}x "
                f"({min(per_round):.2f}-{max(per_round):.2f})."
            )
    text = "\n".join(lines)
    publish(text, SCALE, BLOCK, args.write_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
