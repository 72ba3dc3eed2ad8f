"""`sibling-sentinel demo`: the whole system on an embedded moto server, with no AWS account.

A realistic fleet (20 hosts, 30 nights of backups, one fault of every kind) plus a set of edge-case
keys is seeded into a bucket. Tonight's uploads then go through S3 -> EventBridge -> OnTarballCreated
-> CheckQueue -> CheckSiblings, and the nightly FullSweep runs, all through the real handlers. The
demo shows what an operator would see and checks every verdict against what the data set expects.
The edge-case set is also what the end-to-end tests sweep. moto is a CLI-only dependency (the `demo`
extra) and is imported only here and in demo_stack.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from ..config import Config
from ..domain.sweep.report import table

DEMO_BUCKET = "demo-backups"
DEMO_PREFIX = "backups/"
HOUR = 3600
DAY = 24 * HOUR
LONG_KEY = "backups/gamma/" + "k" * (1024 - len("backups/gamma/") - len(".tar")) + ".tar"


@dataclass(frozen=True)
class DemoObject:
    key: str
    size: int
    age_s: int
    expect: str | None = None  # the verdict the sweep must give this key; None: no verdict at all


DEMO_OBJECTS: tuple[DemoObject, ...] = (
    # alpha: a host whose newest complete backup is two days old
    DemoObject("backups/alpha/2026-11-20.tar.zst", 5000, 2 * DAY, "ok"),
    DemoObject("backups/alpha/2026-11-20.tar.zst.list.txt", 300, 2 * DAY),
    DemoObject("backups/alpha/2026-11-21.tar.zst", 5000, DAY, "missing"),
    DemoObject("backups/alpha/2026-11-21.tar.zst.sha256", 80, DAY),
    DemoObject("backups/alpha/2026-11-22.tar.zst", 5000, 60, "pending"),
    # beta: odd names, a listing too small to use, a tarball rewritten after its listing
    DemoObject("backups/beta/db dump+v2 100%.tgz", 5000, DAY, "ok"),
    DemoObject("backups/beta/db dump+v2 100%.tgz.list.txt", 300, DAY),
    DemoObject("backups/beta/tiny.tar.gz", 5000, DAY, "undersized"),
    DemoObject("backups/beta/tiny.tar.gz.list.txt", 10, DAY),
    DemoObject("backups/beta/rewritten.tar", 5000, DAY, "stale"),
    DemoObject("backups/beta/rewritten.tar.list.txt", 300, 3 * DAY),
    DemoObject("backups/beta/x.tar", 5000, DAY, "ok"),
    DemoObject("backups/beta/x.tar-1/between.txt", 5, DAY),
    DemoObject("backups/beta/x.tar.d/inner.tar.gz.d/notes.txt", 5, DAY),
    DemoObject("backups/beta/x.tar.list.txt", 300, DAY),
    DemoObject("backups/beta/a.tar.gz.d/notes.txt", 5, DAY),
    # gamma: unicode and markup, an orphaned listing, and a key so long its listing cannot exist
    DemoObject("backups/gamma/résumé & <notes>.tar.xz", 5000, DAY, "ok"),
    DemoObject("backups/gamma/résumé & <notes>.tar.xz.list.txt", 300, DAY),
    DemoObject("backups/gamma/gone.tar.bz2.list.txt", 300, DAY, "orphan"),
    DemoObject(LONG_KEY, 5000, DAY, "missing"),
    # delta: extensions match whatever the case
    DemoObject("backups/delta/CAPS.TAR.GZ", 5000, DAY, "ok"),
    DemoObject("backups/delta/CAPS.TAR.GZ.list.txt", 300, DAY),
    # just outside the prefix: never listed
    DemoObject("backups-old/alpha/old.tar", 5000, 30 * DAY),
)


HOSTS = tuple(f"host-{n:02}" for n in range(1, 21))
# Fleet health: the freshness the template deploys, and the volume a 20-host, 30-night fleet must keep.
MAX_BACKUP_AGE_S, MIN_TARBALLS = 26 * HOUR, 500
OVERDUE = ("alpha", "host-07", "host-17")  # two days without a complete backup, three, and a week
UNSEEN_HOST = "host-15"  # its newest backup's Object Created event never reached the event path
VANISHED = "host-21"  # in last night's report, and its folder is gone tonight
NIGHTS = 30
TARBALL_BYTES, LISTING_BYTES = 4096, 2048


def fleet(now: datetime) -> tuple[DemoObject, ...]:
    """20 hosts x 30 nightly tarballs with their listings, and one fault of every kind.

    host-03 lost one listing, host-05 wrote a truncated one, host-07 stopped writing listings three
    nights ago (a regression in its job), host-09 rewrote a tarball after its listing, host-11 kept a
    listing whose tarball was deleted, host-13 is uploading right now, host-17 stopped backing up
    a week ago, and host-19 names its files with spaces and '+'.
    """
    objects: list[DemoObject] = []
    for host in HOSTS:
        first = 7 if host == "host-17" else 1
        for night in range(first, NIGHTS + 1):
            age = night * DAY - 2 * HOUR
            day = (now - timedelta(seconds=age)).date().isoformat()
            name = f"nightly full+incr {day}.tar.gz" if host == "host-19" else f"{day}.tar.zst"
            key = f"{DEMO_PREFIX}{host}/{name}"
            listing = DemoObject(key + ".list.txt", LISTING_BYTES, age - 120)
            verdict = "ok"
            if (host, night) == ("host-03", 5) or (host == "host-07" and night <= 3):
                listing, verdict = None, "missing"  # type: ignore[assignment]
            elif (host, night) == ("host-05", 2):
                listing, verdict = DemoObject(listing.key, 12, listing.age_s), "undersized"
            elif (host, night) == ("host-09", 6):
                age, verdict = age - 2 * DAY, "stale"  # rewritten two days after its listing
            elif (host, night) == ("host-11", 10):
                objects.append(DemoObject(listing.key, LISTING_BYTES, listing.age_s, "orphan"))
                continue
            objects.append(DemoObject(key, TARBALL_BYTES, age, verdict))
            if listing is not None:
                objects.append(listing)
    objects.append(
        DemoObject(f"{DEMO_PREFIX}host-13/uploading-now.tar.zst", TARBALL_BYTES, 20 * 60, "pending")
    )
    return tuple(objects)


def expected_verdicts(objects: tuple[DemoObject, ...] = DEMO_OBJECTS) -> dict[str, str]:
    return {o.key: o.expect for o in objects if o.expect is not None}


def seed(s3: Any, bucket: str = DEMO_BUCKET, objects: tuple[DemoObject, ...] = DEMO_OBJECTS) -> None:
    """Creates the bucket unless it exists, then writes every object."""
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    for o in objects:
        s3.put_object(Bucket=bucket, Key=o.key, Body=b"x" * o.size)


def backdate(bucket: str, ages: dict[str, int], now: datetime, account: str = "123456789012") -> None:
    """Give objects in moto's in-process backend the ages the data set asks for (moto stamps 'now')."""
    from moto.s3.models import s3_backends

    store = s3_backends[account]["aws"].buckets[bucket].keys
    for key, age in ages.items():
        for version in store.getlist(key):
            version.last_modified = (now - timedelta(seconds=age)).replace(tzinfo=None)


@contextmanager
def embedded_s3() -> Iterator[str]:
    """A moto server (every service, S3 included) on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns the demo

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


# --- the show -----------------------------------------------------------------------------------------

# Tonight's uploads, driven through the event path: (host, listing size or None, listing delay in s).
TONIGHT = (
    ("host-01", LISTING_BYTES, 0.0),  # the listing lands with the tarball: passes at the first check
    ("host-04", LISTING_BYTES, 2.5),  # the listing lands after the first check: passes later
    ("host-07", None, 0.0),  # the regression again: no listing, so it fails at the deadline and pages
    ("host-05", 12, 0.0),  # a truncated listing: fails at the deadline as undersized
)
DUPLICATED = "host-07"  # S3 delivers at least once; this upload's event arrives twice


def _env(stack_env: dict[str, str]) -> None:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",  # the demo shows what an operator sees, not the functions' logs
        "POWERTOOLS_TRACE_DISABLED": "1",
        **stack_env,
    }.items():
        os.environ[var] = value  # the demo never talks to AWS, so never uses real credentials
    os.environ.pop("AWS_PROFILE", None)


def default_page_path() -> str:
    """Where the demo leaves its HTML report for a browser: the temporary folder, never the checkout."""
    return os.path.join(tempfile.gettempdir(), "sibling-sentinel-demo", "report.html")


def save_page(stack: Any, uri: str, path: str) -> str:
    """Copies the run's HTML page from the embedded S3 to `path`; returns the absolute path."""
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    target = os.path.abspath(path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as file:
        file.write(body)
    return target


def run_demo(out: TextIO, serve: bool = False, page_path: str | None = None) -> int:
    """Deploy, seed, upload, check, sweep, show; exit 0 only when every outcome is the expected one."""
    from .demo_stack import Stack

    started = time.monotonic()
    now = datetime.now(UTC)
    history = fleet(now) + DEMO_OBJECTS
    with embedded_s3() as endpoint:
        stack = Stack(
            endpoint, DEMO_BUCKET, DEMO_PREFIX, max_backup_age_s=MAX_BACKUP_AGE_S, min_tarballs=MIN_TARBALLS
        )
        _env({})
        out.write(f"sibling-sentinel demo: the whole system on an embedded moto server at {endpoint}\n")
        _section(out, "1. Deploy: what `sam deploy` creates, and `sibling-sentinel enable-events`")
        stack.create()
        _env(stack.environment())
        out.write(
            f"  bucket s3://{DEMO_BUCKET}, CheckQueue + CheckDLQ, AlertTopic, IdempotencyTable,\n"
            f"  the upload rule (tarball extensions in any case; the intake keeps {DEMO_PREFIX});\n"
            f"  check delay {stack.check_delay_s}s and "
            f"deadline {stack.check_deadline_s}s\n  (deployed: 300s and 3600s; the demo compresses time)\n"
        )
        s3 = stack.client("s3")
        seed(s3, DEMO_BUCKET, history)
        backdate(DEMO_BUCKET, {o.key: o.age_s for o in history}, now)
        unseen = unseen_upload(history)
        stack.record_checks(checked_history(history, unseen))
        previous = stack.last_night(now - timedelta(hours=23), [*_hosts(history), VANISHED], _open(history))
        out.write(
            f"  last night's sweep (23 h ago) saw {len(_hosts(history)) + 1} hosts, {VANISHED} among them\n"
            f"  ({previous})\n"
        )
        from .main import run_enable_events

        out.write(f"  $ sibling-sentinel enable-events --bucket {DEMO_BUCKET}\n  ")
        run_enable_events(Config(endpoint_url=endpoint), DEMO_BUCKET, False, out, "text")
        _section(out, "2. History: 20 hosts x 30 nights, one fault of every kind, and the edge-case keys")
        tarballs = sum(1 for o in history if o.expect not in (None, "orphan"))
        out.write(f"  seeded {len(history)} objects ({tarballs} tarballs)\n")

        _section(
            out, "3. Tonight's uploads: S3 -> EventBridge -> OnTarballCreated -> CheckQueue -> CheckSiblings"
        )
        uploads = _upload_tonight(stack, now)
        for key in uploads:
            out.write(f"  PUT s3://{DEMO_BUCKET}/{key}\n")
        delivered = [json.loads(m["Body"]) for m in stack.drain("uploads")]
        twice = [e for e in delivered if DUPLICATED in e["detail"]["object"]["key"]]
        intake = stack.deliver_uploads(delivered + twice)
        out.write(
            f"  OnTarballCreated ran {len(intake)} times and queued {sum(r['queued'] for r in intake)} "
            "checks:\n"
            f"  the {DUPLICATED} event came twice (S3 delivers at least once), and the listings' uploads\n"
            "  never reached it (the upload rule matches tarballs only)\n"
        )
        batches = stack.run_checks()
        out.write(f"  CheckSiblings ran {batches} batches until CheckQueue was empty\n")
        check_alerts = stack.alerts()
        _show_checks(out, stack.metrics)

        _section(out, "4. The nightly sweep: FullSweep, as the schedule fires it")
        summary = stack.nightly_sweep()
        report = stack.read_report(summary["report"])
        _show_hosts(out, report, now)
        _show_fleet(out, report)
        out.write(
            f"\n  {summary['objects_listed']} objects listed, "
            f"{summary['counts']['tarballs']} tarballs judged, "
            f"{summary['problems']} problems (threshold {summary['threshold']}): "
            f"{'BREACH' if summary['breach'] else 'within threshold'}; coverage {summary['coverage']:.2%}\n"
        )
        vault_wrong = _vault_night(stack, s3, now, out)
        alerts = check_alerts + stack.alerts()
        _section(out, f"5. Alerts SNS would have sent ({len(alerts)})")
        for alert in alerts:
            out.write(f"  --- kind={alert['kind']}\n")
            out.writelines(f"  | {line}\n" for line in alert["text"].splitlines()[:14])
            out.write("  | ...\n" if len(alert["text"].splitlines()) > 14 else "")
        _section(out, "6. Metrics emitted (EMF on stdout; CloudWatch turns them into metrics)")
        for name, values in sorted(stack.metrics.items()):
            shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
            out.write(f"  {name:<26} {shown}\n")
        events = stack.events()
        _section(out, f"7. Events put on the default bus ({len(events)})")
        for e in events:
            d = e["detail"]
            what = (
                d.get("key") or f"{d.get('prefix')}: {d.get('problems')} problems, report {d.get('report')}"
            )
            out.write(f"  {e['detail-type']:<22} {' '.join(filter(None, (d.get('verdict'), what)))}\n")
        _section(out, "8. The reports")
        out.write(f"  JSON {summary['report']}  ({len(report['findings'])} findings)\n")
        out.write(f"  HTML {summary['report_html']}\n")
        page = save_page(stack, summary["report_html"], page_path or default_page_path())
        out.write(f"  the HTML report, copied here; open it in a browser:\n    {page}\n")
        _show_commands(out, endpoint, serve)
        code = _self_check(report, history, uploads, alerts, stack.metrics, out)
        code = code or _fleet_check(report, unseen, stack.metrics, out)
        if vault_wrong:
            out.writelines(f"  {line}\n" for line in vault_wrong)
            code = 3
        out.write(f"\n(demo took {time.monotonic() - started:.1f}s)\n")
        if serve and code == 0:
            _serve(out)
    return code


def _vault_night(stack: Any, s3: Any, now: datetime, out: TextIO) -> list[str]:
    """Issue 17's part of the demo: the sampled verification catches what metadata cannot."""
    from .demo_verify import run_vault_night, seed_vault

    _section(out, "4b. The nightly sampled verification: VerifySample reads tarballs byte for byte")
    backdate(DEMO_BUCKET, seed_vault(s3, DEMO_BUCKET), now)
    return run_vault_night(stack, DEMO_BUCKET, out)


def _section(out: TextIO, title: str) -> None:
    out.write(f"\n== {title}\n")


def _upload_tonight(stack: Any, now: datetime) -> list[str]:
    """Puts tonight's tarballs (and listings, some late) into S3, which announces them to EventBridge."""
    s3, keys = stack.client("s3"), []
    for host, listing_size, delay_s in TONIGHT:
        key = f"{DEMO_PREFIX}{host}/{now:%Y-%m-%dT%H%M}.tar.zst"
        s3.put_object(Bucket=DEMO_BUCKET, Key=key, Body=b"x" * TARBALL_BYTES)
        keys.append(key)
        if listing_size is None:
            continue
        put = functools.partial(
            s3.put_object, Bucket=DEMO_BUCKET, Key=key + ".list.txt", Body=b"x" * listing_size
        )
        if delay_s:
            threading.Timer(delay_s, put).start()
        else:
            put()
    return keys


def _show_checks(out: TextIO, metrics: dict[str, list[float]]) -> None:
    lags = ", ".join(f"{v:.1f}s" for v in metrics.get("SiblingArrivalSeconds", []))
    out.write(
        f"  checks passed {sum(metrics.get('SiblingCheckPassed', [])):g} (listing arrived {lags} after its "
        f"tarball), rescheduled {sum(metrics.get('SiblingCheckRescheduled', [])):g}, "
        f"failed at the deadline {sum(metrics.get('SiblingCheckFailed', [])):g} (each paged once; see 5.)\n"
    )


def _when(stamp: dict[str, str]) -> datetime:
    return datetime.fromisoformat(stamp["last_modified"])


def _age(stamp: dict[str, str] | None, now: datetime) -> str:
    if stamp is None:
        return "NONE"
    seconds = (now - _when(stamp)).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{seconds / DAY:.1f}d ago" if seconds >= DAY else f"{seconds / HOUR:.1f}h ago"


def _show_hosts(out: TextIO, report: dict[str, Any], now: datetime) -> None:
    header = (
        "host",
        "tarballs",
        "ok",
        "pending",
        "problems",
        "coverage",
        "newest tarball",
        "newest complete",
        "",
    )
    rows = []
    for name, group in report["groups"].items():
        c = group["counts"]
        judged = c["tarballs"] - c["pending"]
        coverage = f"{c['ok'] / judged:.0%}" if judged else "-"
        newest = group["newest_tarball"]
        why = report.get("overdue_reasons", {}).get(name)
        if why == "silent":
            note = "<- OVERDUE: no backup for a week" if _age(newest, now).endswith("d ago") else "<- OVERDUE"
        elif why == "broken":
            note = "<- OVERDUE: backups without good siblings"
        else:
            note = "<- problems" if group["problems"] else ""
        rows.append(
            (
                name,
                str(c["tarballs"]),
                str(c["ok"]),
                str(c["pending"]),
                str(group["problems"]),
                coverage,
                _age(newest, now),
                _age(group["newest_complete"], now),
                note,
            )
        )
    out.writelines(f"  {line}\n" for line in table(header, rows))


def _hosts(history: tuple[DemoObject, ...]) -> list[str]:
    return sorted({o.key[len(DEMO_PREFIX) :].split("/")[0] for o in history if o.key.startswith(DEMO_PREFIX)})


def _open(history: tuple[DemoObject, ...]) -> list[tuple[str, str]]:
    """Last night's findings: the history's problems were already there (so tonight's are the new ones)."""
    return [(o.key, o.key + ".list.txt") for o in history if o.expect in ("missing", "undersized", "stale")]


def unseen_upload(history: tuple[DemoObject, ...]) -> str:
    """The newest backup of UNSEEN_HOST: a complete backup that no check ever saw."""
    host = f"{DEMO_PREFIX}{UNSEEN_HOST}/"
    return min((o for o in history if o.key.startswith(host) and o.expect == "ok"), key=lambda o: o.age_s).key


def checked_history(history: tuple[DemoObject, ...], unseen: str) -> list[tuple[str, str]]:
    """Every tarball of the last few days but `unseen`, with its etag (the MD5 of its one-part body)."""
    from ..domain.sweep.fleet import LOOKBACK_S

    return [
        (o.key, hashlib.md5(b"x" * o.size, usedforsecurity=False).hexdigest())
        for o in history
        if o.expect not in (None, "orphan") and o.age_s < LOOKBACK_S and o.key != unseen
    ]


def _show_fleet(out: TextIO, report: dict[str, Any]) -> None:
    age, overdue = report["max_backup_age_s"], ", ".join(report["hosts_overdue"]) or "none"
    out.write(
        f"\n  fleet health: {report['counts']['tarballs']} tarballs (minimum {report['min_tarballs']}); "
        f"hosts overdue (no complete backup in {age / HOUR:g} h): {overdue};\n"
        f"  hosts vanished since last night: {', '.join(report['hosts_vanished']) or 'none'}; "
        f"uploads the event path never checked: {report['tarballs_not_checked']}\n"
    )
    out.writelines(f"    not checked: s3://{report['bucket']}/{key}\n" for key in report["not_checked"])


def _fleet_check(report: dict[str, Any], unseen: str, metrics: dict[str, list[float]], out: TextIO) -> int:
    """Exit 0 only when the overdue hosts and the unchecked upload were each caught, and counted."""
    wrong = []
    if report["hosts_vanished"] != [VANISHED]:
        wrong.append(f"expected hosts vanished [{VANISHED!r}], got {report['hosts_vanished']}")
    if report["hosts_overdue"] != list(OVERDUE):
        wrong.append(f"expected hosts overdue {list(OVERDUE)}, got {report['hosts_overdue']}")
    if (report["tarballs_not_checked"], report["not_checked"]) != (1, [unseen]):
        wrong.append(f"expected {unseen} alone not checked, got {report['not_checked']}")
    for metric, value in (("HostsOverdue", len(OVERDUE)), ("TarballsNotChecked", 1)):
        if metrics.get(metric) != [value]:
            wrong.append(f"expected {metric} {value}, got {metrics.get(metric)}")
    out.write(
        "== fleet check: "
        + (
            "the overdue hosts, the vanished host and the unchecked upload were caught\n"
            if not wrong
            else "MISMATCH\n"
        )
    )
    out.writelines(f"  {line}\n" for line in wrong)
    return 0 if not wrong else 3


def _show_commands(out: TextIO, endpoint: str, serve: bool) -> None:
    _section(out, "9. Run the same sweep yourself (from this checkout the CLI is .venv/bin/sibling-sentinel)")
    up = "this endpoint stays up until Ctrl-C" if serve else "`sibling-sentinel demo --serve` keeps it up"
    out.write(
        f"  against the embedded endpoint ({up}):\n"
        f"    AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1 \\\n"
        f"      sibling-sentinel sweep s3://{DEMO_BUCKET}/{DEMO_PREFIX} --endpoint-url {endpoint} \\\n"
        f"      --min-tarballs {MIN_TARBALLS} --max-backup-age {MAX_BACKUP_AGE_S}\n"
        "  against a real bucket (your usual AWS credentials and region):\n"
        "    sibling-sentinel sweep s3://YOUR-BUCKET/backups/ --format json --report sweep.json\n"
        "  or the deployed function (see docs/RUNBOOK.md):\n"
        "    aws lambda invoke --function-name <FullSweepName output> \\\n"
        "      --cli-binary-format raw-in-base64-out --payload '{\"dry_run\": true}' out.json\n"
    )


def _self_check(
    report: dict[str, Any],
    history: tuple[DemoObject, ...],
    uploads: list[str],
    alerts: list[dict[str, str]],
    metrics: dict[str, list[float]],
    out: TextIO,
) -> int:
    got = {f["key"]: f["verdict"] for f in report["findings"]}
    want = expected_verdicts(history) | {
        uploads[0]: "ok",
        uploads[1]: "ok",
        uploads[2]: "pending",  # young: the sweep's grace period still covers it
        uploads[3]: "pending",
    }
    wrong = [
        f"{key}: expected {v}, got {got.get(key, 'ok')}" for key, v in want.items() if got.get(key, "ok") != v
    ]
    tarballs = sum(1 for v in want.values() if v != "orphan")
    if report["counts"]["tarballs"] != tarballs:
        wrong.append(f"expected {tarballs} tarballs, got {report['counts']['tarballs']}")
    kinds = sorted(a["kind"] for a in alerts)
    if kinds != ["check-failed", "check-failed", "sweep-breach"]:
        wrong.append(f"expected two check-failed alerts and one sweep-breach, got {kinds}")
    for metric, total in (("SiblingCheckPassed", 2), ("SiblingCheckFailed", 2), ("SweepCompleted", 1)):
        if sum(metrics.get(metric, [])) != total:
            wrong.append(f"expected {metric} {total}, got {sum(metrics.get(metric, []))}")
    out.write(
        "\n== self-check: "
        + ("every verdict, alert and metric is the expected one\n" if not wrong else "MISMATCH\n")
    )
    out.writelines(f"  {line}\n" for line in wrong)
    return 0 if not wrong else 3


def _serve(out: TextIO) -> None:  # pragma: no cover (waits for Ctrl-C)
    out.write("\nserving; press Ctrl-C to stop\n")
    out.flush()
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)
