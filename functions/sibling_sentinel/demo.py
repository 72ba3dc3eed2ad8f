"""`sibling-sentinel demo`: a seeded bucket on an embedded moto S3, swept and checked by the real CLI code.

The same data set is what the end-to-end tests sweep, so the demo's self-check and the tests agree
on every verdict. moto is a CLI-only dependency (the `demo` extra) and is imported only here.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any, TextIO

from .config import Config

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


def expected_verdicts() -> dict[str, str]:
    return {o.key: o.expect for o in DEMO_OBJECTS if o.expect is not None}


def seed(s3: Any, bucket: str = DEMO_BUCKET, objects: tuple[DemoObject, ...] = DEMO_OBJECTS) -> None:
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
    """A moto S3 server on a free loopback port; yields its endpoint URL."""
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


def run_demo(out: TextIO) -> int:
    """Seed, sweep and check; exit 0 only when every verdict is the one the data set expects."""
    from .adapters.aws import client
    from .cli import run_check, run_sweep

    for var, value in (
        ("AWS_ACCESS_KEY_ID", "demo"),
        ("AWS_SECRET_ACCESS_KEY", "demo"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ[var] = value  # the demo never talks to AWS, so never uses real credentials
    os.environ.pop("AWS_PROFILE", None)
    with embedded_s3() as endpoint:
        seed(client("s3", endpoint))
        backdate(DEMO_BUCKET, {o.key: o.age_s for o in DEMO_OBJECTS}, datetime.now(UTC))
        config = Config(endpoint_url=endpoint)
        out.write(f"== embedded S3 at {endpoint}: {len(DEMO_OBJECTS)} objects in s3://{DEMO_BUCKET}\n\n")
        out.write(f"$ sibling-sentinel sweep s3://{DEMO_BUCKET}/{DEMO_PREFIX}\n")
        code = run_sweep(config, DEMO_BUCKET, DEMO_PREFIX, out, StringIO(), "text", None)
        out.write(f"(exit {code}: problems above the threshold of {config.threshold})\n\n")
        sample = "backups/beta/tiny.tar.gz"
        out.write(f"$ sibling-sentinel check s3://{DEMO_BUCKET}/{sample}\n")
        run_check(config, DEMO_BUCKET, sample, out, "text")
        report = StringIO()
        run_sweep(config, DEMO_BUCKET, DEMO_PREFIX, report, StringIO(), "json", None)
    return _self_check(json.loads(report.getvalue()), out)


def _self_check(report: dict[str, Any], out: TextIO) -> int:
    got = {f["key"]: f["verdict"] for f in report["findings"]}
    wrong = [
        f"{key}: expected {want}, got {got.get(key, 'ok')}"
        for key, want in expected_verdicts().items()
        if got.get(key, "ok") != want
    ]
    expected_tarballs = sum(1 for v in expected_verdicts().values() if v != "orphan")
    if report["counts"]["tarballs"] != expected_tarballs:
        wrong.append(f"expected {expected_tarballs} tarballs, got {report['counts']['tarballs']}")
    out.write("\n== self-check: " + ("every verdict is the expected one\n" if not wrong else "MISMATCH\n"))
    out.writelines(f"  {line}\n" for line in wrong)
    return 0 if not wrong else 3
