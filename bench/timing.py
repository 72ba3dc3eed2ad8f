"""Running one benchmark contender in a child process, timed and measured from outside."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TIME = "/usr/bin/time"
TIMED = "/usr/bin/time -v"  # `Measured.source` when it measured


@dataclass(frozen=True)
class Measured:
    seconds: float
    rss_kb: int
    stdout: str
    stderr: str
    returncode: int
    source: str
    tree_pss_kb: int = 0  # the most its processes held at once, PSS summed (sampled every 0.1 s)
    cpu_s: float = 0.0  # user + system CPU of the child and every process it waited for (its workers)


def elapsed_s(text: str) -> float:
    """`1:02:03.45` or `2:03.45` (h:mm:ss or m:ss) as seconds."""
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += map(int, children)
        todo += map(int, children)
    return found


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared by forked workers are counted once, split between them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreePss:
    """Samples the summed PSS of a process tree: a sweep on worker processes is several processes, and
    `/usr/bin/time` reports only the largest one's peak RSS. PSS, because forked workers share pages
    with their parent, which summed RSS would count twice. Linux only; 0 elsewhere."""

    def __init__(self, pid: int, include_root: bool, every_s: float = 0.1) -> None:
        self.peak_kb = 0
        self._pid, self._root, self._every = pid, include_root, every_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(self._every):
            tree = [self._pid, *_descendants(self._pid)] if self._root else _descendants(self._pid)
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in tree))

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak_kb


def run_measured(cmd: Sequence[str], env: Mapping[str, str] | None = None) -> Measured:
    """Peak RSS and wall time from `/usr/bin/time -v` when it is there, else from the parent.

    Without it, peak RSS is `RUSAGE_CHILDREN`'s maximum so far, which is this child's only when it is
    the largest child yet; the table says which source it used.
    """
    timed = os.access(TIME, os.X_OK)
    full = [TIME, "-v", *cmd] if timed else list(cmd)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        tree = TreePss(proc.pid, include_root=not timed)  # /usr/bin/time itself is not counted
        stdout, stderr = proc.communicate()
        tree_kb = tree.stop()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = after.ru_maxrss
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    source = "ru_maxrss of children"
    if timed:
        found_rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
        found_wall = re.search(r"Elapsed \(wall clock\) time \([^)]*\): (\S+)", stderr)
        if found_rss is None or found_wall is None:
            raise SystemExit(f"could not parse /usr/bin/time -v output:\n{stderr}")
        rss, wall, source = int(found_rss.group(1)), elapsed_s(found_wall.group(1)), TIMED
        cpu = sum(float(t) for t in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", stderr))
    return Measured(wall, rss, stdout or "", stderr, proc.returncode, source, tree_kb, cpu)
