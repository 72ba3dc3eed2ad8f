"""The SweepMap state machine on moto's ASL interpreter beside the FullSweep function, on one moto bucket.

Both run the real handlers on a dry run (`{"dry_run": true}`) over the same in-process moto bucket of
`--keys` objects (hosts of 100 tarballs, each with its listing); the state machine is template.yaml's
definition, its Lambda tasks dispatched to the handlers in this process (tests/sfn_local.py). Quoted:
the median wall time of each over `--repeat` rounds and the state machine's item count. Under moto
every S3 request is a Python call, so this measures what the Map adds in orchestration (the plan's
probes, the items and results files, the interpreter's states and child executions, the merge), not
S3's latency. A benchmark, not a test. See docs/SCALE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core.config import default_user_config  # noqa: E402

from doc_block import publish  # noqa: E402

DOC = ROOT / "docs" / "SCALE.md"
BLOCK = "sweep-map-speed"
BUCKET, REPORTS = "bench-backups", "bench-reports"


def seed(s3: Any, keys: int) -> None:
    for n in range(keys // 2):
        key = f"backups/host{n // 100:05}/b{n % 100:03}.tar.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"")
        s3.put_object(Bucket=BUCKET, Key=key + ".list.txt", Body=b"x" * 100)


def environment(concurrency: int, batch: int) -> dict[str, str]:
    return {
        "AWS_DEFAULT_REGION": "us-east-1",
        "BACKUP_BUCKET": BUCKET,
        "BACKUP_PREFIX": "backups/",
        "REPORT_BUCKET": REPORTS,
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
        "SWEEP_CONCURRENCY": str(concurrency),
        "SWEEP_MAP_BATCH_RANGES": str(batch),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_SERVICE_NAME": "bench",
    }


def measure(keys: int, repeat: int, concurrency: int, batch: int, max_concurrency: int) -> dict[str, Any]:
    from sfn_local import Lambdas, definition
    from sibling_sentinel.lambda_edge import wiring
    from sibling_sentinel.lambda_edge.handlers import full_sweep

    from stack import LambdaContext

    os.environ.update(environment(concurrency, batch))
    function_s, machine_s, items = [], [], 0
    with (
        mock_aws(config={"lambda": {"use_docker": False}}),
        patch.dict(default_user_config, {"stepfunctions": {"execute_state_machine": True}}),
    ):
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=REPORTS)
        seed(s3, keys)
        lambdas = Lambdas()
        boto3.DEFAULT_SESSION.events.register("before-call.lambda.Invoke", lambdas)  # type: ignore[union-attr]
        sfn = boto3.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="SweepMap",
            definition=definition(REPORTS, max_concurrency),
            roleArn="arn:aws:iam::123456789012:role/bench",
        )["stateMachineArn"]
        for wired in (wiring.full_sweep, wiring.sweep_map):
            wired.cache_clear()
        for round_ in range(repeat):
            started = time.perf_counter()
            answer = full_sweep.handler({"dry_run": True}, LambdaContext("FullSweep", f"bench-{round_}"))  # type: ignore[arg-type]
            function_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            execution = sfn.start_execution(
                stateMachineArn=arn, name=f"bench-{round_}", input='{"dry_run": true}'
            )
            while (done := sfn.describe_execution(executionArn=execution["executionArn"]))[
                "status"
            ] == "RUNNING":
                time.sleep(0.01)
            machine_s.append(time.perf_counter() - started)
            output = json.loads(done["output"])
            if (
                done["status"] != "SUCCEEDED"
                or not output["objects_listed"] == answer["objects_listed"] == keys
            ):
                raise SystemExit(f"the runs disagree: {done['status']} {output} {answer}")
            items = len(
                {
                    p["index"]
                    for name, p in lambdas.calls
                    if name == "ranges" and p["run"]["run_id"].endswith(f"bench-{round_}")
                }
            )
    return {
        "keys": keys,
        "items": items,
        "function_s": statistics.median(function_s),
        "machine_s": statistics.median(machine_s),
    }


def table(rows: list[dict[str, Any]], concurrency: int, batch: int, max_concurrency: int) -> str:
    lines = [
        f"Measured by `make bench-sweep-map` (moto in-process, dry runs, SweepConcurrency {concurrency}, "
        f"SweepMapBatchRanges {batch}, MaxConcurrency {max_concurrency}; medians):",
        "",
        "| objects | items (children) | FullSweep function | SweepMap on the interpreter | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['keys']:,} | {r['items']} | {r['function_s']:.2f} s | {r['machine_s']:.2f} s "
            f"| {r['machine_s'] / r['function_s']:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", default="2000,20000", help="comma-separated object counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-concurrency", type=int, default=40)
    parser.add_argument(
        "--write-doc", action="store_true", help=f"rewrite the {BLOCK} block of docs/SCALE.md"
    )
    args = parser.parse_args()
    rows = [
        measure(int(k), args.repeat, args.concurrency, args.batch, args.max_concurrency)
        for k in args.keys.split(",")
    ]
    text = table(rows, args.concurrency, args.batch, args.max_concurrency)
    publish(text, DOC, BLOCK, args.write_doc)


if __name__ == "__main__":
    main()
