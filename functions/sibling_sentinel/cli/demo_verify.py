"""The demo's nightly sampled verification: real tarballs under `vault/`, one with a listing cut in half
(which every metadata check passes) and one whose listing was never written, run through the real
VerifySample handler with AutoRepair=missing. Both are caught; the missing listing is regenerated."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

VAULT = "vault/"
GOOD = "vault/db-01/2026-11-21.tar.gz"
TRUNCATED = "vault/db-01/2026-11-20.tar.bz2"  # its listing lost its second half
UNLISTED = "vault/db-02/2026-11-21.tar.xz"  # its listing was never written
_COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    ".tar.gz": gzip.compress,
    ".tar.bz2": bz2.compress,
    ".tar.xz": lzma.compress,
}


def _tarball(key: str, files: int) -> tuple[bytes, bytes]:
    """A tarball of `files` small files and the listing `tar -t` prints for it."""
    raw = io.BytesIO()
    names = ["./", "./etc/"] + [f"./etc/conf-{i:03d}.ini" for i in range(files)]
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in names:
            info = tarfile.TarInfo(name.rstrip("/") or ".")
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                body = f"[{name}]\nvalue = {len(name)}\n".encode()
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    ext = next(e for e in _COMPRESS if key.endswith(e))
    return _COMPRESS[ext](raw.getvalue()), "".join(f"{n}\n" for n in names).encode()


def seed_vault(s3: Any, bucket: str) -> dict[str, int]:
    """Puts the three tarballs (and two listings) in S3; returns the ages to backdate them to."""
    for key in (GOOD, TRUNCATED, UNLISTED):
        body, listing = _tarball(key, 40)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        if key == TRUNCATED:
            listing = listing[: len(listing) // 2].rpartition(b"\n")[0] + b"\n"
        if key != UNLISTED:
            s3.put_object(Bucket=bucket, Key=key + ".list.txt", Body=listing)
    return dict.fromkeys((GOOD, TRUNCATED, UNLISTED, GOOD + ".list.txt", TRUNCATED + ".list.txt"), 86400)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_vault_night(stack: Any, bucket: str, out: TextIO) -> list[str]:
    """The VerifySample handler over `vault/`; returns what did not come out as expected."""
    from ..adapters.s3 import S3Objects
    from ..config import Config
    from ..domain.manifests.one_tarball import check_tarball
    from ..lambda_edge import verify_wiring
    from ..lambda_edge.handlers import verify_sample

    settings = {
        "BACKUP_PREFIX": VAULT,
        "VERIFY_BUDGET_BYTES": str(10**9),
        "VERIFY_CYCLE_NIGHTS": "1",
        "AUTO_REPAIR": "missing",
    }
    out.write(
        f"  three real tarballs under s3://{bucket}/{VAULT}: {GOOD} (sound),\n"
        f"  {TRUNCATED} (listing cut in half: big enough and fresh, so `check` says ok),\n"
        f"  {UNLISTED} (no listing); VerifySample runs with AutoRepair=missing, a 1-night cycle\n"
    )
    verify_wiring.sampled_verification.cache_clear()
    with _environment(settings):
        result = stack._invoke(verify_sample.handler, {"trigger": "schedule"}, "VerifySample")
        report = stack.read_report(result["report"])
        verdict = check_tarball(
            S3Objects(stack.client("s3")), bucket, UNLISTED, Config.from_env().policy(), datetime.now(UTC)
        )
    verify_wiring.sampled_verification.cache_clear()
    for v in report["verified"]:
        found = "; ".join(v["findings"]) or "entries and listing agree"
        out.write(f"  verified {v['verdict']:<9} {v['key']}  ({found})\n")
    for r in report["repairs"]:
        out.write(f"  repaired  {r['listing']}  ({r['condition']}, {r['entries']} entries)\n")
    out.write(f"  report {result['report']}; then `check` of {UNLISTED}: {verdict.verdict.value}\n")
    out.write(
        "  the same by hand against this endpoint (`sibling-sentinel demo --serve` keeps it up):\n"
        f"    sibling-sentinel verify s3://{bucket}/{TRUNCATED} --endpoint-url {stack.endpoint}\n"
        f"    sibling-sentinel repair s3://{bucket}/{TRUNCATED} --mismatched --yes "
        f"--endpoint-url {stack.endpoint}\n"
    )
    verdicts = {v["key"]: v["verdict"] for v in report["verified"]}
    wrong = []
    if verdicts != {GOOD: "ok", TRUNCATED: "mismatch"}:
        wrong.append(f"expected {GOOD} ok and {TRUNCATED} mismatch, got {verdicts}")
    if [(r["key"], r["action"]) for r in report["repairs"]] != [(UNLISTED, "written")]:
        wrong.append(f"expected the listing of {UNLISTED} written, got {report['repairs']}")
    if verdict.verdict.value != "ok":
        wrong.append(f"expected check of {UNLISTED} ok after the repair, got {verdict.verdict.value}")
    return wrong
