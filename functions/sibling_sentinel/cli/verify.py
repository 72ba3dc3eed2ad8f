"""`sibling-sentinel verify` and `repair`: the commands that read a tarball's bytes.

Exit codes are the sweep's: 0 no problem beyond the threshold, 1 above it, 2 bad usage, 3 could not
complete (a stream that broke off is that, never a verdict).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ..config import Config, parse_s3_url
from ..domain.core.rules import folder_of
from ..domain.verify.verification import Verification
from ..domain.verify.verify import Repair, RepairAction, repair_listing, verify_key
from ..errors import ConfigError

EXIT_OK, EXIT_BREACH = 0, 1
REPORT_VERDICTS = frozenset({"missing", "undersized", "stale"})


def add_commands(sub: Any, common: argparse.ArgumentParser) -> tuple[argparse.ArgumentParser, ...]:
    """`verify` and `repair`, returned so the CLI can give them the flags every command has."""
    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="stream one tarball: its entries against the listing, its SHA-256 against the manifest",
    )
    verify.add_argument("url", metavar="s3://BUCKET/KEY")
    repair = sub.add_parser(
        "repair",
        parents=[common],
        help="regenerate a missing, undersized or stale listing from its tarball (conditional writes)",
        description="Regenerates KEY.list.txt from the tarball's bytes. Without --yes it writes only "
        "after asking on a terminal; with stdin not a terminal (cron, CI, a pipe) it is a dry run.",
    )
    repair.add_argument("url", nargs="?", metavar="s3://BUCKET/KEY")
    repair.add_argument(
        "--from-report",
        type=Path,
        metavar="FILE",
        help="every missing, undersized or stale listing in this sweep report (--format json / --report)",
    )
    repair.add_argument("--yes", action="store_true", help="write without asking")
    repair.add_argument("--dry-run", action="store_true", help="say what would be written; write nothing")
    repair.add_argument(
        "--mismatched",
        action="store_true",
        help="also read a listing that passes the metadata rules, and rewrite it if its names are not "
        "the tarball's (what verify calls a listing mismatch)",
    )
    return verify, repair


def run_verify(config: Config, url: str, out: TextIO, fmt: str) -> int:
    from ..adapters.s3 import S3Objects
    from ..adapters.tarball_bytes import S3TarballBytes
    from ..lambda_edge.wiring import aws_client

    bucket, key = parse_s3_url(url)
    s3 = aws_client(config, "s3")
    result = verify_key(S3Objects(s3), S3TarballBytes(s3), bucket, key, config.naming())
    breach = result.problems > config.threshold
    if fmt == "json":
        out.write(json.dumps({**result.to_dict(), "threshold": config.threshold, "breach": breach}) + "\n")
    else:
        _write_verification(result, out)
    return EXIT_BREACH if breach else EXIT_OK


def _write_verification(v: Verification, out: TextIO) -> None:
    out.write(f"{v.outcome.value}  s3://{v.bucket}/{v.key}\n")
    out.write(
        f"  read {v.bytes_read} bytes ({v.compression}), {v.entries} entries, sha256 {v.sha256}\n"
        f"  listing: {v.listing.value} ({v.listing_lines} lines)  {v.listing_key}\n"
        f"  manifest: {v.checksum.value}  {v.manifest.key}\n"
    )
    for finding in v.findings:
        out.write(f"  {finding}\n")
    for title, names in (
        ("in the tarball, not in the listing", v.first_unlisted),
        ("in the listing, not in the tarball", v.first_not_in_tarball),
    ):
        if names:
            out.write(f"  {title} (first {len(names)}): {', '.join(names)}\n")


def run_repair(config: Config, args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    """Dry run unless `--yes`, or a yes typed at the terminal: a scheduled or piped `repair` that has not
    said `--yes` must not write to the backup bucket by surprise."""
    from ..adapters.s3 import S3Objects
    from ..adapters.tarball_bytes import S3ListingWriter, S3TarballBytes
    from ..lambda_edge.wiring import aws_client

    bucket, prefix, keys = _targets(config, args)
    write = _should_write(args, len(keys), err, stdin)
    s3 = aws_client(config, "s3")
    store, source, writes = S3Objects(s3), S3TarballBytes(s3), S3ListingWriter(s3, prefix)
    policy, now = config.policy(), datetime.now(UTC)
    repairs = [
        repair_listing(store, source, writes, bucket, k, policy, now, prefix, write, args.mismatched)
        for k in keys
    ]
    refused = sum(r.is_problem for r in repairs)
    breach = refused > config.threshold
    if args.format == "json":
        body = {
            "bucket": bucket,
            "prefix": prefix,
            "dry_run": not write,
            "repairs": [r.to_dict() for r in repairs],
            "counts": {a.value: sum(r.action is a for r in repairs) for a in RepairAction},
            "problems": refused,
            "threshold": config.threshold,
            "breach": breach,
        }
        out.write(json.dumps(body, indent=2) + "\n")
    else:
        _write_repairs(bucket, repairs, out)
    if not write and any(r.action is RepairAction.WOULD_WRITE for r in repairs):
        err.write("sibling-sentinel: dry run, nothing written; run again with --yes to write\n")
    return EXIT_BREACH if breach else EXIT_OK


def _write_repairs(bucket: str, repairs: list[Repair], out: TextIO) -> None:
    if not repairs:
        out.write("nothing to repair\n")
    for r in repairs:
        where = f"s3://{bucket}/{r.listing_key}"
        out.write(f"{r.action.value}  {where}  ({r.judged}; {r.condition}): {r.reason}\n")


def _targets(config: Config, args: argparse.Namespace) -> tuple[str, str, list[str]]:
    """The bucket, the prefix every write must stay under, and the tarball keys to repair."""
    if (args.url is None) == (args.from_report is None):
        raise ConfigError("repair takes one s3://BUCKET/KEY or --from-report FILE")
    if args.url is not None:
        bucket, key = parse_s3_url(args.url)
        return bucket, config.prefix or folder_of(key), [key]
    try:
        report = json.loads(args.from_report.read_text(encoding="utf-8"))
        bucket, prefix = str(report["bucket"]), str(report["prefix"])
        findings = list(report["findings"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"--from-report {args.from_report}: not a sweep report ({e})") from None
    keys = [
        str(f["key"])
        for f in findings
        if isinstance(f, dict) and f.get("rule") == "listing" and f.get("verdict") in REPORT_VERDICTS
    ]
    return bucket, config.prefix or prefix, list(dict.fromkeys(keys))


def _should_write(args: argparse.Namespace, count: int, err: TextIO, stdin: TextIO) -> bool:
    if args.dry_run or not count:
        return False
    if args.yes:
        return True
    if not stdin.isatty():
        err.write("sibling-sentinel: stdin is not a terminal, so this is a dry run (--yes writes)\n")
        return False
    err.write(f"regenerate up to {count} listing(s) from their tarballs? [y/N] ")
    err.flush()
    return stdin.readline().strip().lower() in ("y", "yes")
