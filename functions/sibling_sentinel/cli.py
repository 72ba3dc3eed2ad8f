"""`sibling-sentinel`: sweep a prefix, check one tarball, or run the demo.

Exit codes: 0 problems within the threshold, 1 above it, 2 bad usage or configuration,
3 the sweep or check could not complete.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .config import Config
from .domain.report import Report, findings_of
from .domain.sweep import Sweep, as_folder, check_tarball
from .errors import ConfigError, SentinelError

EXIT_OK, EXIT_BREACH, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


def parse_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ConfigError(f"{url!r} is not an s3:// URL")
    bucket, _, rest = url[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"{url!r} has no bucket name")
    return bucket, rest


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sibling-sentinel",
        description="Checks that every backup tarball in S3 has its sibling listing next to it.",
        epilog="exit codes: 0 within threshold, 1 above it, 2 bad usage, 3 could not complete",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--min-listing-bytes", type=int, metavar="N", help="smallest usable listing (64)")
    common.add_argument("--grace", type=int, metavar="SECONDS", help="young tarballs stay pending (7200)")
    common.add_argument(
        "--stale-tolerance",
        type=int,
        metavar="SECONDS",
        help="how much older than its tarball a listing may be (3600)",
    )
    common.add_argument("--threshold", type=int, metavar="N", help="problems allowed before exit 1 (0)")
    common.add_argument(
        "--extensions",
        type=lambda s: tuple(x.strip() for x in s.split(",") if x.strip()),
        metavar="LIST",
        help="tarball extensions, comma-separated",
    )
    common.add_argument("--format", choices=("text", "json"), default="text")
    common.add_argument("--endpoint-url", metavar="URL", help="S3 endpoint (else AWS_ENDPOINT_URL)")

    sweep = sub.add_parser("sweep", parents=[common], help="reconcile every tarball under a prefix")
    sweep.add_argument("url", metavar="s3://BUCKET/PREFIX")
    sweep.add_argument("--report", type=Path, metavar="FILE", help="also write the JSON report here")
    sweep.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="folders listed at once (16)",
    )
    sweep.add_argument("--group-depth", type=int, metavar="N", help="folder depth of a host (1)")

    check = sub.add_parser("check", parents=[common], help="the verdict for one tarball")
    check.add_argument("url", metavar="s3://BUCKET/KEY")

    sub.add_parser("demo", help="the whole system on an embedded S3 (moto); no AWS account needed")
    return p


def _config(args: argparse.Namespace, env: dict[str, str]) -> Config:
    return Config.from_env(env).with_overrides(
        min_listing_bytes=args.min_listing_bytes,
        grace_seconds=args.grace,
        stale_tolerance_seconds=args.stale_tolerance,
        threshold=args.threshold,
        tarball_extensions=args.extensions,
        endpoint_url=args.endpoint_url,
        concurrency=getattr(args, "concurrency", None),
        group_depth=getattr(args, "group_depth", None),
    )


def _progress(stream: TextIO) -> Any:
    def show(pages: int, report: Report) -> None:
        stream.write(
            f"\rlisted {report.objects_listed} objects in {pages} pages, "
            f"{report.counts['tarballs']} tarballs judged"
        )
        stream.flush()

    return show


def run_sweep(
    config: Config, bucket: str, prefix: str, out: TextIO, err: TextIO, fmt: str, report_path: Path | None
) -> int:
    from .adapters.s3 import S3Lister
    from .wiring import aws_client

    sweep = Sweep(
        S3Lister(aws_client(config, "s3")),
        config.policy(),
        config.threshold,
        config.group_depth,
        clock=lambda: datetime.now(UTC),
        concurrency=config.concurrency,
    )
    report = sweep.run(bucket, as_folder(prefix), progress=_progress(err) if err.isatty() else None)
    if err.isatty():
        err.write("\n")
    if report_path is not None:
        with report_path.open("w", encoding="utf-8") as file:
            report.write_json(file)
    if fmt == "json":
        report.write_json(out)
    else:
        report.write_text(out)
    return EXIT_BREACH if report.breach else EXIT_OK


def run_check(config: Config, bucket: str, key: str, out: TextIO, fmt: str) -> int:
    from .adapters.s3 import S3Objects
    from .wiring import aws_client

    result = check_tarball(
        S3Objects(aws_client(config, "s3")), bucket, key, config.policy(), datetime.now(UTC)
    )
    findings = findings_of(result)
    breach = int(result.verdict.is_problem) > config.threshold
    if fmt == "json":
        out.write(
            json.dumps(
                {
                    "bucket": bucket,
                    "key": key,
                    "verdict": result.verdict.value,
                    "siblings": [
                        {
                            "rule": r.rule.name,
                            "sibling": r.sibling_key,
                            "verdict": r.verdict.value,
                            "reason": r.reason,
                        }
                        for r in result.results
                    ],
                    "findings": [f.to_dict() for f in findings],
                    "threshold": config.threshold,
                    "breach": breach,
                },
                indent=2,
            )
            + "\n"
        )
    else:
        out.write(f"{result.verdict.value}  s3://{bucket}/{key}\n")
        for r in result.results:
            out.write(f"  {r.rule.name}: {r.verdict.value}  {r.sibling_key}  ({r.reason})\n")
    return EXIT_BREACH if breach else EXIT_OK


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # a key in a non-UTF-8 terminal must not crash a sweep
            stream.reconfigure(errors="backslashreplace")
    args = _parser().parse_args(argv)
    err = sys.stderr
    try:
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(sys.stdout)
        config = _config(args, dict(os.environ) if env is None else env)
        bucket, rest = parse_s3_url(args.url)
        if args.command == "sweep":
            if args.report is not None and not os.access(args.report.parent.resolve(), os.W_OK):
                raise ConfigError(f"--report {args.report}: its folder does not exist or is not writable")
            return run_sweep(config, bucket, rest, sys.stdout, err, args.format, args.report)
        return run_check(config, bucket, rest, sys.stdout, args.format)
    except ConfigError as e:
        err.write(f"sibling-sentinel: error: {e}\n")
        return EXIT_USAGE
    except SentinelError as e:
        err.write(f"sibling-sentinel: could not complete: {e}\n")
        return EXIT_INCOMPLETE
    except Exception as e:  # a crash must not exit 1, which means "breach"
        err.write(f"sibling-sentinel: could not complete: internal error: {type(e).__name__}: {e}\n")
        return EXIT_INCOMPLETE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
