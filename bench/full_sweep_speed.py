"""FullSweep, the deployed nightly job, beside the CLI's threads-only sweep, on one loopback endpoint.

Each contender runs in its own child process, in turn (A B C A B C ...), `--repeat` times:

- `cli`: `sibling-sentinel sweep --concurrency N --processes 1 --format json` (key-range shards on one
  process's threads, which is what FullSweep can have on Lambda's one vCPU);
- `full-sweep`: the real FullSweep handler (`lambda_edge/handlers/full_sweep.handler`) invoked on a dry run
  (`{"dry_run": true}`: nothing written, counted or sent) with SWEEP_CONCURRENCY=N;
- `full-sweep-serial`: the same with SWEEP_CONCURRENCY=1, one flat ordered stream: what FullSweep was
  before it listed key ranges.

Quoted: the median wall time of each, and the median of the per-round ratios to `cli`, so a machine
that drifts between rounds does not skew the comparison. A benchmark, not a test. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from doc_block import publish, source_command
from list_speed import CREDENTIALS, DOC, _check, _tool, machine, start_endpoint
from s3_endpoint import BUCKET, PREFIX
from timing import run_measured

BLOCK = "full-sweep-speed"


@dataclass
class Context:
    """What the handler reads of Lambda's context: a 15-minute invocation."""

    function_name: str = "bench-FullSweep"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench-FullSweep"
    aws_request_id: str = "bench-0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def handler_child() -> None:
    """Runs in the child process: the handler, as Lambda would call it, its answer on stdout."""
    from baseline import handler_module

    result = handler_module("full_sweep").handler({"dry_run": True}, Context())
    print(json.dumps({"objects_listed": result["objects_listed"], "complete": result["complete"]}))


def handler_env(endpoint: str, concurrency: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    return (
        keep
        | CREDENTIALS
        | {
            "AWS_ENDPOINT_URL": endpoint,
            "BACKUP_BUCKET": BUCKET,
            "BACKUP_PREFIX": PREFIX,
            "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-alerts",
            "SWEEP_CONCURRENCY": str(concurrency),
            "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_TRACE_DISABLED": "1",
        }
    )


def contenders(endpoint: str, concurrency: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    cli = _tool("sibling-sentinel") or "sibling-sentinel"
    sweep = [cli, "sweep", f"s3://{BUCKET}/{PREFIX}", "--endpoint-url", endpoint, "--format", "json"]
    plain = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | CREDENTIALS
    child = [sys.executable, __file__, "--handler-child"]
    return {
        "cli": ([*sweep, "--concurrency", str(concurrency), "--processes", "1"], plain),
        "full-sweep": (child, handler_env(endpoint, concurrency)),
        "full-sweep-serial": (child, handler_env(endpoint, 1)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="S3's in-region round trip (50)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-doc", action="store_true", help=f"replace the table in {DOC.name}")
    parser.add_argument("--handler-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.handler_child:
        handler_child()
        return 0
    server, endpoint = start_endpoint(args.keys, args.latency_ms)
    seconds: dict[str, list[float]] = {}
    try:
        runs = contenders(endpoint, args.concurrency)
        for round_ in range(args.repeat):
            for name, (cmd, env) in runs.items():
                print(f"  round {round_ + 1}: {name} ...", file=sys.stderr, flush=True)
                measured = run_measured(cmd, env)
                _check("product" if name == "cli" else "naive", measured, args.keys)
                seconds.setdefault(name, []).append(measured.seconds)
    finally:
        server.terminate()
        server.wait()
    command = source_command()
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}.",
        f"Command: `{command}`; {args.keys:,} keys, {args.latency_ms:g} ms added per request, "
        f"concurrency {args.concurrency}, {args.repeat} rounds (median, min-max).",
        "",
        "| contender | wall s, median (min-max) | ÷ CLI, median of per-round ratios |",
        "|---|---:|---:|",
    ]
    for name, times in seconds.items():
        ratio = statistics.median(t / c for t, c in zip(times, seconds["cli"], strict=True))
        lines.append(
            f"| {name} | {statistics.median(times):.2f} ({min(times):.2f}-{max(times):.2f}) | {ratio:.2f}x |"
        )
    text = "\n".join(lines)
    publish(text, DOC, BLOCK, args.write_doc)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
