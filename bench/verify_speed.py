"""`make bench-verify`: how fast `verify` reads a tarball per compression, and its memory as it grows.

1. Throughput: one tarball of backup-like data (half incompressible, half text), compressed by each
   compressor's own command-line tool at its default level, verified from 1 MiB chunks by the same code
   `verify` runs (tar headers, decoder, SHA-256, listing comparison). MB/s of stored bytes, which is what
   the nightly byte budget counts, and of tar bytes.
2. Memory: a tar stream of 0.25, 1 and 2 GiB made on the fly, piped through the compressor into a
   verifying process that reads it from stdin (never written to disk); that process's peak RSS.

Writes the `verify-bench` block of docs/BENCHMARKS.md with --write-doc.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from doc_block import publish
from sibling_sentinel.domain.core.objects import ListedObject
from sibling_sentinel.domain.verify.sampled_verification import RESERVE_S, SAFETY
from sibling_sentinel.domain.verify.verification import ManifestEvidence, verify_tarball

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHUNK = 1024 * 1024
FILE_BYTES = 8 * 1024 * 1024
COMPRESSORS = {
    "none": ("cat",),
    "gzip": ("gzip", "-c"),
    "bzip2": ("bzip2", "-c"),
    "xz": ("xz", "-c", "-T2"),
    "zstd": ("zstd", "-q", "-c"),
    "lz4": ("lz4", "-q", "-c"),
}


def names(total: int) -> list[str]:
    return [f"data/part-{i:06d}.bin" for i in range(-(-total // FILE_BYTES))]


def generate(total: int, out: object) -> None:
    """A tar stream of `total` bytes of file data: each file half pseudo-random, half repetitive text."""
    text = (b"2026-11-22T03:00:00Z host backup ok files=1234 bytes=567890\n" * (FILE_BYTES // 120))[
        : FILE_BYTES // 2
    ]
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tar:  # type: ignore[call-overload]
        for name in names(total):
            body = os.urandom(FILE_BYTES // 2) + text
            info = tarfile.TarInfo(name)
            info.size = len(body)
            import io

            tar.addfile(info, io.BytesIO(body))


def chunks(stream: object) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)  # type: ignore[attr-defined]
        if not chunk:
            return
        yield chunk


def verify_stream(stream: object, compression: str, total: int) -> dict[str, float]:
    listing = "".join(f"{n}\n" for n in names(total)).encode()
    tarball = ListedObject("bench.tar", 0, datetime.now(UTC))
    manifest = ManifestEvidence("bench.manifest.json", present=False)
    started, cpu = time.perf_counter(), time.process_time()
    result = verify_tarball("bench", tarball, compression, chunks(stream), "l", listing, manifest)
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    assert result.outcome.value == "ok", result.findings
    return {
        "stored_bytes": result.bytes_read,
        "wall_s": wall,
        "cpu_s": used,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def throughput(total: int, work: Path) -> list[dict[str, object]]:
    raw = work / "bench.tar"
    with raw.open("wb") as out:
        generate(total, out)
    tar_bytes = raw.stat().st_size
    rows = []
    for compression, command in COMPRESSORS.items():
        stored = work / f"bench.{compression}"
        with raw.open("rb") as source, stored.open("wb") as sink:
            subprocess.run(command, stdin=source, stdout=sink, check=True)
        with stored.open("rb") as stream:
            measured = verify_stream(stream, compression, total)
        stored_bytes = measured["stored_bytes"]
        rows.append(
            {
                "compression": compression,
                "tar_mb": tar_bytes / 1e6,
                "stored_mb": stored_bytes / 1e6,
                "stored_mb_s": stored_bytes / 1e6 / measured["wall_s"],
                "tar_mb_s": tar_bytes / 1e6 / measured["wall_s"],
                "cpu_share": measured["cpu_s"] / measured["wall_s"],
                "stored_mb_cpu_s": stored_bytes / 1e6 / measured["cpu_s"],
                "largest_gb": stored_bytes / measured["cpu_s"] * SAFETY * (900 - RESERVE_S) / 1e9,
            }
        )
        stored.unlink()
        print(json.dumps(rows[-1]), file=sys.stderr)
    raw.unlink()
    return rows


def memory(total: int, compression: str) -> dict[str, float]:
    """generate | compressor | verifying process, none of it on disk."""
    me = [sys.executable, __file__]
    with (
        subprocess.Popen([*me, "--generate", str(total)], stdout=subprocess.PIPE) as gen,
        subprocess.Popen(COMPRESSORS[compression], stdin=gen.stdout, stdout=subprocess.PIPE) as comp,
    ):
        assert gen.stdout is not None
        gen.stdout.close()
        consumer = subprocess.run(
            [*me, "--consume", compression, str(total)],
            stdin=comp.stdout,
            capture_output=True,
            check=True,
            text=True,
        )
    measured: dict[str, float] = json.loads(consumer.stdout)
    measured["tar_gib"] = total / 2**30
    print(json.dumps(measured), file=sys.stderr)
    return measured


def render(rows: list[dict[str, object]], mem: list[dict[str, object]], total: int) -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on this machine ({os.cpu_count()} cores, one used), "
        f"Python {sys.version.split()[0]}; a {total / 2**20:.0f} MiB tar of backup-like data (half "
        "incompressible, half text) compressed by each tool at its default level, verified from 1 MiB "
        "chunks of a local file (the S3 GET is not in the figure; on Lambda it adds the network's pace). "
        "The machine is shared, so wall-clock rates move with its load (`CPU share` is CPU over wall time); "
        "`per CPU-s` is the rate on a core of its own, as a Lambda vCPU is. `at this rate in 15 min` is "
        "that rate x 0.8 x 840 s (VerifySample plans with half of it; see below).",
        "",
        "| compression | stored MB | stored MB/s | tar MB/s | CPU share | stored MB per CPU-s "
        "| at this rate in 15 min |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['compression']} | {r['stored_mb']:.0f} | {r['stored_mb_s']:.0f} | {r['tar_mb_s']:.0f} | "
            f"{r['cpu_share']:.2f} | {r['stored_mb_cpu_s']:.0f} | {r['largest_gb']:.0f} GB |"
        )
    lines += [
        "",
        "Memory of the verifying process (peak RSS, Python and its imports included) while a tar stream "
        "made on the fly is piped through the compressor into it, never on disk:",
        "",
        "| compression | tar GiB | stored GB | peak RSS MB |",
        "|---|---:|---:|---:|",
    ]
    for m in mem:
        lines.append(
            f"| {m['compression']} | {m['tar_gib']:.2f} | {float(m['stored_bytes']) / 1e9:.2f} | "
            f"{m['peak_rss_mb']:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--generate", type=int)
    p.add_argument("--consume", nargs=2)
    p.add_argument("--mib", type=int, default=256, help="size of the throughput tarball")
    p.add_argument("--memory-gib", default="0.25,1,2")
    p.add_argument("--write-doc", action="store_true")
    args = p.parse_args()
    if args.generate is not None:
        generate(args.generate, sys.stdout.buffer)
        return 0
    if args.consume is not None:
        compression, total = args.consume
        measured = verify_stream(sys.stdin.buffer, compression, int(total))
        print(json.dumps({"compression": compression, **measured}))
        return 0
    total = args.mib * 2**20
    with tempfile.TemporaryDirectory() as work:
        rows = throughput(total, Path(work))
    sizes = [int(float(g) * 2**30) for g in args.memory_gib.split(",")]
    mem: list[dict[str, object]] = [
        {**memory(size, c), "compression": c} for c in ("zstd", "gzip") for size in sizes
    ]
    block = render(rows, mem, total)
    publish(block, DOC, "verify-bench", args.write_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
