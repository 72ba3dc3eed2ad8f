"""How many CPUs the CLI's sweep may use: affinity, capped by a container's CPU quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sibling_sentinel.cli.main import cgroup_cpu_quota, usable_cpus


def cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # v2, unlimited
        ({"cpu.max": "150000 100000\n"}, 2),  # v2, 1.5 CPUs: rounded up
        ({"cpu.max": "50000 100000\n"}, 1),  # v2, half a CPU
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1, unlimited
        ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4),  # v1, 4 CPUs
        ({"cpu.max": "garbage"}, None),  # unreadable: no quota assumed
        ({}, None),  # no cgroup files at all (not Linux)
    ],
)
def test_the_cgroup_cpu_quota_is_read_in_whole_cpus(
    tmp_path: Path, files: dict[str, str], expected: int | None
) -> None:
    # given a cgroup file system as a container sees it
    root = cgroup(tmp_path, files)
    # when its CPU quota is read
    # then it is the quota in whole CPUs, or None when there is none
    assert cgroup_cpu_quota(root) == expected


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="affinity is Linux's")
def test_usable_cpus_are_the_affinity_capped_by_the_quota(tmp_path: Path) -> None:
    # given a quota of one CPU, then none
    limited = cgroup(tmp_path / "limited", {"cpu.max": "100000 100000\n"})
    free = cgroup(tmp_path / "free", {"cpu.max": "max 100000\n"})
    # when the usable CPUs are counted
    # then the quota caps the affinity, and without one the affinity counts
    assert usable_cpus(limited) == 1
    assert usable_cpus(free) == len(os.sched_getaffinity(0))
