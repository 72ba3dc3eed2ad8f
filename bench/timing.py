"""Running one benchmark contender in a child process, timed and measured from outside."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Measured:
    seconds: float
    rss_kb: int
    stdout: str
    stderr: str
    returncode: int
    source: str


def elapsed_s(text: str) -> float:
    """`1:02:03.45` or `2:03.45` (h:mm:ss or m:ss) as seconds."""
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def run_measured(
    cmd: Sequence[str], env: Mapping[str, str] | None = None, stdout_to_null: bool = False
) -> Measured:
    """Peak RSS and wall time from `/usr/bin/time -v` when it is there, else from the parent.

    Without it, peak RSS is `RUSAGE_CHILDREN`'s maximum so far, which is this child's only when it is
    the largest child yet; the table says which source it used.
    """
    timed = os.access(TIME, os.X_OK)
    full = [TIME, "-v", *cmd] if timed else list(cmd)
    out = subprocess.DEVNULL if stdout_to_null else subprocess.PIPE
    started = time.perf_counter()
    proc = subprocess.run(full, stdout=out, stderr=subprocess.PIPE, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    source = "ru_maxrss of children"
    if timed:
        found_rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        found_wall = re.search(r"Elapsed \(wall clock\) time \([^)]*\): (\S+)", proc.stderr)
        if found_rss is None or found_wall is None:
            raise SystemExit(f"could not parse /usr/bin/time -v output:\n{proc.stderr}")
        rss, wall, source = int(found_rss.group(1)), elapsed_s(found_wall.group(1)), "/usr/bin/time -v"
    return Measured(wall, rss, proc.stdout or "", proc.stderr, proc.returncode, source)


def python() -> str:
    return sys.executable
