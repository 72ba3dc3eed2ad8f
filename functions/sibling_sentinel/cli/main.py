"""`sibling-sentinel`: sweep a prefix, check one tarball, choose a backup to restore, turn on S3 events,
or run the demo.

Exit codes: 0 problems within the threshold, 1 above it, 2 bad usage or configuration,
3 the sweep or check could not complete. For `restore-candidate`: 0 a backup was chosen, 1 none
qualifies (fail closed), 2 and 3 as above.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

from .. import __version__
from ..config import Config, check_endpoint_url, comma_list, parse_s3_url
from ..domain.core.rules import Requirement
from ..domain.manifests.one_tarball import check_tarball
from ..domain.restore.restore import RestoreSearch
from ..domain.sweep.fleet import assess
from ..domain.sweep.html_report import render_html
from ..domain.sweep.report import Report, findings_of
from ..domain.sweep.sweep import Sweep, as_folder
from ..domain.sweep.text_report import MAX_FINDINGS as MAX_TEXT_FINDINGS
from ..domain.sweep.text_report import summary_line
from ..errors import ConfigError, SentinelError, WrongRegionError

EXIT_OK, EXIT_BREACH, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell, systemd or Kubernetes reports a stopped command


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so the sweep unwinds the same
    way: every worker thread and process stopped, no report."""


def _terminated(_signum: int, _frame: object) -> None:
    raise Terminated


def _parser() -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = _OneLineParser(
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
        type=comma_list,
        metavar="LIST",
        help="tarball extensions, comma-separated",
    )
    common.add_argument("--format", choices=("text", "json"), default="text")
    common.add_argument("--endpoint-url", metavar="URL", help="S3 endpoint (else AWS_ENDPOINT_URL)")
    common.add_argument(
        "--manifest",
        choices=[r.value for r in Requirement],
        help="the {stem}.manifest.json rule everywhere (off)",
    )
    common.add_argument(
        "--manifest-rules",
        type=comma_list,
        metavar="LIST",
        help="per-folder manifest rule, e.g. 'backups/corpus/=required,backups/scratch/=off'",
    )

    sweep = sub.add_parser("sweep", parents=[common], help="reconcile every tarball under a prefix")
    sweep.add_argument("url", metavar="s3://BUCKET/PREFIX")
    sweep.add_argument("--report", type=Path, metavar="FILE", help="also write the JSON report here")
    sweep.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="folders listed at once (16)",
    )
    sweep.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="worker processes those folders are listed on; 0: one per usable CPU (0), 1: none",
    )
    sweep.add_argument("--group-depth", type=int, metavar="N", help="folder depth of a host (1)")
    sweep.add_argument(
        "--min-tarballs",
        type=int,
        metavar="N",
        help="fewer tarballs under the prefix than this is a breach (1): an empty prefix is never green",
    )
    sweep.add_argument(
        "--max-backup-age",
        type=int,
        metavar="SECONDS",
        help="a host whose newest complete backup is older is overdue (0: not checked, the default, "
        "as the CLI cannot know the cadence; 93600 suits a nightly backup)",
    )
    sweep.add_argument(
        "--inventory",
        metavar="s3://BUCKET/PATH/manifest.json",
        help="read this S3 Inventory (CSV) instead of listing the bucket; judged as of its creation time",
    )
    sweep.add_argument(
        "--inventory-run-rows",
        type=int,
        metavar="N",
        help="inventory rows sorted in memory at once before spilling to disk (200000)",
    )

    check = sub.add_parser("check", parents=[common], help="the verdict for one tarball")
    check.add_argument("url", metavar="s3://BUCKET/KEY")

    events = sub.add_parser(
        "enable-events",
        help="turn on the bucket's S3 -> EventBridge notifications, keeping every other configuration",
    )
    events.add_argument("--bucket", required=True, metavar="BUCKET")
    events.add_argument("--dry-run", action="store_true", help="print the change, write nothing")
    events.add_argument("--format", choices=("text", "json"), default="text")
    events.add_argument("--endpoint-url", metavar="URL", help="S3 endpoint (else AWS_ENDPOINT_URL)")

    restore = sub.add_parser(
        "restore-candidate",
        help="the newest backup whose manifest is valid and whose format the reader supports",
        description="Prints the s3:// URI of the newest backup under the prefix whose manifest is valid "
        "and whose corpus_format_version the reader supports (ordered by the manifest's created_at, "
        "then key). Nothing qualifies: exit 1 and nothing on stdout.",
        epilog="exit codes: 0 chosen, 1 none qualifies, 2 bad usage, 3 could not complete",
    )
    restore.add_argument("url", metavar="s3://BUCKET/PREFIX")
    restore.add_argument(
        "--reader-supports",
        type=_versions,
        required=True,
        metavar="N[,N...]",
        help="corpus_format_version values the deployed reader can open",
    )
    restore.add_argument("--pin", metavar="KEY", help="check this one backup (its key or s3:// URI) instead")
    restore.add_argument("--format", choices=("text", "json"), default="text")
    restore.add_argument("--endpoint-url", metavar="URL", help="S3 endpoint (else AWS_ENDPOINT_URL)")
    restore.add_argument(
        "--extensions", type=comma_list, metavar="LIST", help="tarball extensions, comma-separated"
    )
    restore.add_argument("--concurrency", type=int, metavar="N", help="manifest reads in parallel (16)")

    from .verify import add_commands

    verify, repair = add_commands(sub, common)
    _reading_flags(sweep)
    for command in (sweep, check, events, restore, verify, repair):
        _aws_flags(command)

    demo = sub.add_parser("demo", help="the whole system on an embedded moto server; no AWS account needed")
    demo.add_argument("--serve", action="store_true", help="keep the embedded endpoint up afterwards")
    demo.add_argument(
        "--html", metavar="FILE", help="where to copy the demo's HTML report (a file in the temporary folder)"
    )
    return p


def _reading_flags(sweep: argparse.ArgumentParser) -> None:
    """What a person reads: the HTML page, and how much of the text report reaches the terminal."""
    sweep.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML report here")
    sweep.add_argument(
        "--max-findings",
        type=_count,
        default=MAX_TEXT_FINDINGS,
        metavar="N",
        help=f"findings shown in text mode, first by key ({MAX_TEXT_FINDINGS}; the JSON has every one)",
    )
    sweep.add_argument("--quiet", action="store_true", help="print only the summary line (text mode)")


def _aws_flags(command: argparse.ArgumentParser) -> None:
    """As the AWS CLI spells them; they override AWS_PROFILE and AWS_REGION for this run."""
    command.add_argument("--profile", metavar="NAME", help="the AWS profile to use (else AWS_PROFILE)")
    command.add_argument("--region", metavar="NAME", help="the AWS region (else AWS_REGION / the profile's)")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _versions(text: str) -> frozenset[int]:
    try:
        versions = frozenset(int(part) for part in comma_list(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be integers, comma-separated, e.g. 3,4") from None
    if not versions or min(versions) < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must name at least one version, each 0 or more")
    return versions


def _config(args: argparse.Namespace, env: dict[str, str]) -> Config:
    return Config.from_env(env).with_flags(args)


def _progress(stream: TextIO, clock: Callable[[], float] = time.monotonic) -> Any:
    """One line redrawn in place on a terminal, once a page: objects, pages, rate and elapsed time."""
    started = clock()

    def show(pages: int, report: Report) -> None:
        elapsed = clock() - started
        rate = report.objects_listed / elapsed if elapsed > 0 else 0.0
        stream.write(
            f"\rlisted {report.objects_listed:,} objects in {pages:,} pages, "
            f"{report.counts['tarballs']:,} tarballs judged; {rate:,.0f} objects/s, {_elapsed(elapsed)}\x1b[K"
        )
        stream.flush()

    return show


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02}s" if minutes else f"{seconds:.1f}s"


def usable_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this process may use, not the machine's: its affinity (`taskset`, a cpuset), capped by
    a cgroup CPU quota (`docker --cpus`, a Kubernetes or ECS CPU limit), which affinity does not show."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup)
    return max(1, min(cpus, quota)) if quota is not None else cpus


def cgroup_cpu_quota(cgroup: Path) -> int | None:
    """The CPU quota in whole CPUs (rounded up), from cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`.

    None when there is none (unlimited, or no cgroup files, as outside Linux)."""
    try:
        v2 = (cgroup / "cpu.max").read_text().split()
        quota, period = v2[0], v2[1]
    except (OSError, IndexError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(1, -(-int(quota) // int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def run_sweep(
    config: Config,
    bucket: str,
    prefix: str,
    out: TextIO,
    err: TextIO,
    fmt: str,
    report_path: Path | None,
    inventory: str | None = None,
    reading: Reading | None = None,
) -> int:
    from ..adapters.pool import ThreadPool
    from ..adapters.s3 import S3Lister
    from ..domain.ports import Lister
    from ..lambda_edge.startup import settle_after_startup
    from ..lambda_edge.wiring import aws_client, manifest_reads, open_inventory
    from .processes import shard_processes

    s3 = aws_client(config, "s3")
    settle_after_startup()  # before the worker processes fork: they inherit it
    processes = config.sweep_processes(usable_cpus())
    with ExitStack() as resources:
        reads = resources.enter_context(manifest_reads(config, s3))
        lister: Lister = S3Lister(s3)
        as_of = None
        if inventory is not None:
            pool = resources.enter_context(ThreadPool(config.concurrency))  # the data files' readers
            lister = opened = open_inventory(config, s3, inventory, bucket, pool)
            as_of = opened.created_at
            if err.isatty():
                err.write(f"reading the inventory {inventory}, taken {as_of:%Y-%m-%dT%H:%M:%SZ}\n")
        sweep = Sweep(
            lister,
            config.policy(),
            config.threshold,
            config.group_depth,
            clock=lambda: datetime.now(UTC),
            manifests=reads if config.reads_manifests else None,
            concurrency=config.concurrency,
            as_of=as_of,
            shard_processes=(
                shard_processes(config, processes) if processes > 1 and inventory is None else None
            ),
        )
        report = sweep.run(bucket, as_folder(prefix), progress=_progress(err) if err.isatty() else None)
    assess(report, config.fleet_rules(), as_of or report.started_at)  # no previous run, no event path
    if err.isatty():
        err.write("\n")
    if report_path is not None:
        with report_path.open("w", encoding="utf-8") as file:
            report.write_json(file)
    reading = reading or Reading()
    if reading.html is not None:
        write_page(report, reading.html, report_path, s3.meta.region_name or "")
    if fmt == "json":
        report.write_json(out)
    elif reading.quiet:
        out.write(summary_line(report.to_mapping()) + "\n")
    else:
        report.write_text(out, reading.max_findings)
    return EXIT_BREACH if report.breach else EXIT_OK


@dataclass(frozen=True)
class Reading:
    """How the CLI shows a sweep to a person: `--html`, `--max-findings`, `--quiet`."""

    html: Path | None = None
    max_findings: int = MAX_TEXT_FINDINGS
    quiet: bool = False


def write_page(report: Report, path: Path, report_path: Path | None, region: str) -> None:
    """The HTML page; it links the JSON report by a path relative to itself, when one is written."""
    json_href = None
    if report_path is not None:
        json_href = Path(os.path.relpath(report_path.resolve(), path.resolve().parent)).as_posix()
    path.write_text(render_html(report.to_mapping(), json_href=json_href, region=region), encoding="utf-8")


def run_check(config: Config, bucket: str, key: str, out: TextIO, fmt: str) -> int:
    from ..adapters.s3 import S3Objects
    from ..lambda_edge.wiring import aws_client, manifest_inspector

    s3 = aws_client(config, "s3")
    manifests = manifest_inspector(config, s3)
    result = check_tarball(S3Objects(s3), bucket, key, config.policy(), datetime.now(UTC), manifests)
    findings = findings_of(result)
    breach = int(result.verdict.is_problem) > config.threshold
    if fmt == "json":
        out.write(
            json.dumps(
                {
                    "bucket": bucket,
                    "key": key,
                    "verdict": result.verdict.value,
                    "siblings": [r.to_dict() for r in result.results],
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


def run_enable_events(config: Config, bucket: str, dry_run: bool, out: TextIO, fmt: str) -> int:
    """Read, merge, write: idempotent, and nothing is written when EventBridge is already on."""
    from ..adapters.s3 import S3BucketNotifications
    from ..domain.event_path.notifications import eventbridge_on, kept_summary, with_eventbridge
    from ..domain.ports import BucketNotifications
    from ..lambda_edge.wiring import aws_client

    adapter = S3BucketNotifications(aws_client(config, "s3"))
    refuse_another_region(bucket, *adapter.regions(bucket))
    notifications: BucketNotifications = adapter
    current = notifications.read(bucket)
    changed = not eventbridge_on(current)
    after = with_eventbridge(current) if changed else current
    if changed and not dry_run:
        notifications.write(bucket, after)
    if fmt == "json":
        result = {"bucket": bucket, "changed": changed, "dry_run": dry_run, "before": current, "after": after}
        out.write(json.dumps(result, indent=2) + "\n")
        return EXIT_OK
    kept = kept_summary(current)
    if not changed:
        out.write(
            f"EventBridge notifications are already on for s3://{bucket}; nothing to change ({kept}).\n"
        )
    elif dry_run:
        out.write(
            f"Would turn on EventBridge notifications for s3://{bucket}, keeping {kept}. "
            "The whole configuration written would be:\n" + json.dumps(after, indent=2) + "\n"
        )
    else:
        out.write(
            f"Turned on EventBridge notifications for s3://{bucket}, keeping {kept}. "
            "S3 may take a few minutes to start sending events.\n"
        )
    return EXIT_OK


def refuse_another_region(bucket: str, bucket_region: str, here: str) -> None:
    """S3 sends its EventBridge events only in the bucket's own region: a stack elsewhere hears nothing."""
    if bucket_region != here:
        raise ConfigError(
            f"s3://{bucket} is in {bucket_region}, but this runs in {here}; S3 sends EventBridge events "
            f"only in the bucket's region, so deploy the stack and run enable-events in {bucket_region} "
            f"(AWS_REGION={bucket_region})"
        )


def run_restore_candidate(
    config: Config, bucket: str, prefix: str, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    """stdout carries only the chosen URI (or the JSON), so a script can use it as is."""
    from ..adapters.s3 import S3Lister, S3Objects
    from ..lambda_edge.wiring import aws_client, manifest_reads

    supports: frozenset[int] = args.reader_supports
    folder = as_folder(prefix)
    s3 = aws_client(config, "s3")
    with manifest_reads(config, s3) as reads:
        search = RestoreSearch(S3Lister(s3), reads, config.restore_policy(), clock=lambda: datetime.now(UTC))
        if args.pin is None:
            choice = search.newest(bucket, folder, supports)
        else:
            choice = search.pinned(S3Objects(s3), bucket, _pinned_key(args.pin, bucket, folder), supports)
    if args.format == "json":
        out.write(json.dumps(choice.to_dict(bucket), indent=2) + "\n")
    elif choice.chosen is not None:
        out.write(f"s3://{bucket}/{choice.chosen.key}\n")
    if choice.chosen is None:
        err.write(f"sibling-sentinel: no restore candidate: {choice.refusal()}\n")
        return EXIT_BREACH
    if args.format == "text":
        chosen = choice.chosen
        err.write(f"chosen {chosen.key}: {chosen.reason}; {len(choice.passed_over)} other candidates\n")
    return EXIT_OK


def _pinned_key(pin: str, bucket: str, folder: str) -> str:
    """A pin is a key in the bucket or its s3:// URI, and must lie under the prefix being restored."""
    key = pin
    if pin.startswith("s3://"):
        pin_bucket, key = parse_s3_url(pin)
        if pin_bucket != bucket:
            raise ConfigError(f"--pin {pin!r} is in bucket {pin_bucket!r}, not {bucket!r}")
    if not key.startswith(folder):
        raise ConfigError(f"--pin {pin!r} is not under s3://{bucket}/{folder}")
    return key


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # a key in a non-UTF-8 terminal must not crash a sweep
            stream.reconfigure(errors="backslashreplace")
    args = _parser().parse_args(argv)
    err, out = sys.stderr, _Stdout(sys.stdout)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if in_main_thread else None
    try:
        with _aws_overrides(args):
            code = _command(args, cast(TextIO, out), err, env)
        out.flush()
        return code
    except StdoutClosedError:  # `| head` read what it wanted: stop, as a Unix tool does, with no message
        _drop_stdout()
        return EXIT_CLOSED_PIPE
    except ConfigError as e:
        err.write(f"sibling-sentinel: error: {_one_line(e)}\n")
        return EXIT_USAGE
    except WrongRegionError as e:
        err.write(f"sibling-sentinel: error: {_one_line(e)}\n")
        return EXIT_USAGE
    except SentinelError as e:
        err.write(f"sibling-sentinel: could not complete: {_one_line(e)}\n")
        return EXIT_INCOMPLETE
    except KeyboardInterrupt:  # every worker thread and process has been stopped on the way out
        err.write("sibling-sentinel: interrupted; nothing was reported\n")
        return EXIT_INTERRUPTED
    except Terminated:
        err.write("sibling-sentinel: terminated (SIGTERM); nothing was reported\n")
        return EXIT_TERMINATED
    except Exception as e:  # a crash must not exit 1, which means "breach"
        err.write(
            f"sibling-sentinel: could not complete: internal error: {type(e).__name__}: {_one_line(e)}\n"
        )
        return EXIT_INCOMPLETE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def entry() -> None:
    """The console script. After an interrupt it leaves at once: a read thread still inside a stalled
    request (which the SDK would retry for minutes) must not hold the exit, and every worker process
    has already been stopped by then."""
    code = main()
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _command(args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str] | None) -> int:
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(out, serve=args.serve, page_path=args.html)
    environment = dict(os.environ) if env is None else env
    config = _config(args, environment)
    check_aws_setup(os.environ)
    if args.command == "enable-events":
        check_bucket_name(args.bucket)
        return run_enable_events(config, args.bucket, args.dry_run, out, args.format)
    if args.command in ("verify", "repair"):
        from .verify import run_repair, run_verify

        if args.command == "verify":
            return run_verify(config, args.url, out, args.format)
        return run_repair(config, args, out, err, sys.stdin)
    bucket, rest = parse_s3_url(args.url)
    check_bucket_name(bucket)
    if args.command == "restore-candidate":
        return run_restore_candidate(config, bucket, rest, args, out, err)
    if args.command == "sweep":
        for flag, path in (("--report", args.report), ("--html", args.html)):
            if path is not None and not os.access(path.parent.resolve(), os.W_OK):
                raise ConfigError(f"{flag} {path}: its folder does not exist or is not writable")
        reading = Reading(args.html, args.max_findings, args.quiet)
        return run_sweep(config, bucket, rest, out, err, args.format, args.report, args.inventory, reading)
    return run_check(config, bucket, rest, out, args.format)


# --- errors that say what to change -------------------------------------------------------------------

EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a Unix tool whose reader went away
# botocore's own rule (legacy buckets may have upper case and underscores), and access point ARNs
_BUCKET_NAME = re.compile(r"[a-zA-Z0-9.\-_]{1,255}|arn:aws[a-z-]*:(s3|s3-object-lambda|s3-outposts):.+")
CREDENTIALS_SOUGHT = (
    "looked in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile's ~/.aws/credentials and "
    "~/.aws/config (AWS_PROFILE or --profile; SSO, assume-role, credential_process), "
    "AWS_WEB_IDENTITY_TOKEN_FILE, the container credentials endpoint and the EC2 instance metadata; "
    "run `aws configure` (or `aws sso login`), or pass --profile"
)


class StdoutClosedError(Exception):
    """stdout's reader went away; told apart from any other broken pipe (a worker process's)."""


class _Stdout:
    """sys.stdout, whose BrokenPipeError means the reader is gone and nothing else."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise StdoutClosedError from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise StdoutClosedError from None

    def isatty(self) -> bool:
        return self._stream.isatty()


def _drop_stdout() -> None:
    """Points stdout at /dev/null, so the interpreter's last flush at exit cannot complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (a test's capture)
        pass


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


@contextmanager
def _aws_overrides(args: argparse.Namespace) -> Iterator[None]:
    """`--profile` and `--region` as the AWS CLI's flags: they win over AWS_PROFILE and AWS_REGION, for
    this run and the worker processes it starts."""
    wanted = {}
    if getattr(args, "profile", None):
        wanted["AWS_PROFILE"] = args.profile
    if getattr(args, "region", None):
        wanted |= {"AWS_REGION": args.region, "AWS_DEFAULT_REGION": args.region}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_aws_setup(environ: Mapping[str, str]) -> None:
    """The profile, the endpoint variables and the credentials, before anything is listed: each of
    these would otherwise fail later as a bare Python exception or a retried connection."""
    import boto3
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        if environ.get(var):
            check_endpoint_url(environ[var], var)
    profile = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    try:
        session = boto3.Session()
        credentials = session.get_credentials()
    except ProfileNotFound:
        raise ConfigError(
            f"the AWS profile {profile!r} (--profile or AWS_PROFILE) is not in ~/.aws/config or "
            "~/.aws/credentials; `aws configure list-profiles` lists those there are"
        ) from None
    except BotoCoreError as e:
        raise ConfigError(f"the AWS configuration cannot be read: {e}") from None
    if credentials is None:
        raise ConfigError(f"no AWS credentials found: {CREDENTIALS_SOUGHT}")


def check_bucket_name(bucket: str) -> None:
    if not _BUCKET_NAME.fullmatch(bucket):
        raise ConfigError(
            f"{bucket!r} is not an S3 bucket name: bucket names are 3 to 63 lower-case letters, digits, "
            "dots and hyphens (older ones may also have upper case and underscores), with no spaces or '/'"
        )


class _OneLineParser(argparse.ArgumentParser):
    """A bad flag is one line: argparse's own message for it, then the command's usage in short."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; usage: {short_usage(self)} (see --help)\n")


def short_usage(parser: argparse.ArgumentParser) -> str:
    words = [parser.prog, "[options]"]
    for action in parser._actions:  # argparse keeps no public list of its positionals
        if not action.option_strings:
            words.append(str(action.metavar or "{" + ",".join(action.choices or ()) + "}"))
    return " ".join(words)


if __name__ == "__main__":  # pragma: no cover
    entry()
