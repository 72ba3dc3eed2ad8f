"""Each Lambda handler's import time, this release beside the previous one: `python -X importtime`.

For every module in `functions/sibling_sentinel/lambda_edge/handlers/`, a fresh interpreter runs
`import sibling_sentinel.lambda_edge.handlers.<name>` under `-X importtime`, `--repeat` times, alternating the
previous release (`baseline.py`'s tree) and this one. Quoted per handler: the import's time (the
self time of every module it brought in, those the bare interpreter loads at start-up left out),
median and min-max, the ratio, and whether Powertools Idempotency was among them; then, for this
release, where the time goes: self time summed per package (the standard library as one).
A benchmark, not a test. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import baseline
from doc_block import publish, source_command
from list_speed import DOC, machine

BLOCK = "handler-imports"
IDEMPOTENCY = "aws_lambda_powertools.utilities.idempotency"
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)")
TOP = 6  # packages shown per handler


def handlers(functions: Path) -> list[str]:
    _, folder = baseline.handlers_folder(functions)
    return sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")


def _importtime(functions: Path, code: str) -> list[tuple[str, int]]:
    """(module, self µs) for every module the code imported, in import order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=baseline.env(functions, env),
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: {code!r} failed under {functions}:\n{done.stderr[-2000:]}")
    return [(m[3], int(m[1])) for m in map(LINE.match, done.stderr.splitlines()) if m]


def group(module: str) -> str:
    parts = module.split(".")
    if parts[0] in sys.stdlib_module_names:
        return "standard library"
    if parts[0] == "aws_lambda_powertools" and len(parts) > 2 and parts[1] == "utilities":
        return ".".join(parts[:3])
    if parts[0] in ("aws_lambda_powertools", "sibling_sentinel") and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


class Imports:
    """One handler's imports over the repeats: total ms per run, and ms per package per run."""

    def __init__(self) -> None:
        self.totals: list[float] = []
        self.groups: dict[str, list[float]] = defaultdict(list)
        self.idempotency = False

    def add(self, modules: list[tuple[str, int]], at_start: set[str]) -> None:
        mine = [(name, us) for name, us in modules if name not in at_start]
        self.totals.append(sum(us for _, us in mine) / 1000)
        per: dict[str, float] = defaultdict(float)
        for name, us in mine:
            per[group(name)] += us / 1000
        for name, ms in per.items():
            self.groups[name].append(ms)
        self.idempotency |= any(name == IDEMPOTENCY for name, _ in mine)

    def spread(self) -> str:
        t = self.totals
        return f"{statistics.median(t):.0f} ({min(t):.0f}-{max(t):.0f})"

    def top(self, n: int) -> list[tuple[str, float]]:
        medians = {g: statistics.median(v) for g, v in self.groups.items()}
        return sorted(medians.items(), key=lambda kv: -kv[1])[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-doc", action="store_true", help=f"replace the tables in {DOC.name}")
    args = parser.parse_args()
    trees = {"previous": baseline.tree(), "this": baseline.CURRENT}
    at_start = {name: {m for m, _ in _importtime(tree, "pass")} for name, tree in trees.items()}
    names = handlers(baseline.CURRENT)
    measured = {(release, h): Imports() for release in trees for h in names}
    for n in range(args.repeat):
        print(f"  round {n + 1} of {args.repeat}", file=sys.stderr, flush=True)
        for h in names:
            for release, tree in trees.items():
                if h in handlers(tree):
                    package, _ = baseline.handlers_folder(tree)
                    modules = _importtime(tree, f"import {package}.{h}")
                    measured[release, h].add(modules, at_start[release])
    command = source_command()
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}.",
        f"Command: `{command}`; {args.repeat} runs each, alternating; "
        f"previous release: {baseline.describe()}.",
        "",
        "| handler | previous ms, median (min-max) | this ms, median (min-max) | this ÷ previous "
        "| Idempotency imported: previous / this |",
        "|---|---:|---:|---:|---|",
    ]
    for h in names:
        old, new = measured["previous", h], measured["this", h]
        if not old.totals:
            lines.append(
                f"| {h} | (not in the previous release) | {new.spread()} | | - / {new.idempotency} |"
            )
            continue
        r = statistics.median(new.totals) / statistics.median(old.totals)
        yes = {True: "yes", False: "no"}
        lines.append(
            f"| {h} | {old.spread()} | {new.spread()} | {r:.2f}x "
            f"| {yes[old.idempotency]} / {yes[new.idempotency]} |"
        )
    lines += [
        "",
        f"Where this release's import time goes: the {TOP} largest packages per handler, self time summed, "
        "median ms.",
        "",
        "| handler | packages |",
        "|---|---|",
    ]
    for h in names:
        parts = ", ".join(f"{g} {ms:.0f}" for g, ms in measured["this", h].top(TOP))
        lines.append(f"| {h} | {parts} |")
    text = "\n".join(lines)
    publish(text, DOC, BLOCK, args.write_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
