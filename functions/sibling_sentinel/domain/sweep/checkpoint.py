"""A paused sweep, written down so that the next invocation carries on exactly where this one stopped.

One JSON line with the run, the request, the report's counts and groups and the reconciler's open
state, then one line per finding so far: the findings are streamed, never one string.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from ...errors import SentinelError
from .report import Report

VERSION = 1


class CheckpointError(SentinelError):
    """A checkpoint that cannot be read back (wrong version, truncated): the run cannot continue."""


@dataclass
class Checkpoint:
    run_id: str
    invocation: int  # how many invocations the run has used so far
    request: dict[str, Any]
    report: Report  # complete: false, with `paused` set

    def write(self, out: TextIO) -> None:
        head = {
            "v": VERSION,
            "run_id": self.run_id,
            "invocation": self.invocation,
            "request": self.request,
            "report": self.report.state(),
            "paused": self.report.paused,
            "findings": len(self.report.findings),
        }
        out.write(json.dumps(head) + "\n")
        for finding in self.report.findings:
            out.write(json.dumps(finding) + "\n")

    @classmethod
    def read(cls, lines: Iterator[str]) -> Checkpoint:
        try:
            head = json.loads(next(lines))
            if head.get("v") != VERSION:
                raise CheckpointError(f"checkpoint version {head.get('v')!r}, expected {VERSION}")
            # streamed into the report's log, which spills past its limit: never all in memory at once
            report = Report.resumed(head["report"], (json.loads(line) for line in lines if line.strip()))
            if len(report.findings) != head["findings"]:
                raise CheckpointError(
                    f"checkpoint holds {len(report.findings)} findings, expected {head['findings']}"
                )
            report.complete, report.paused = False, head["paused"]
            return cls(head["run_id"], head["invocation"], head["request"], report)
        except (StopIteration, ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"unreadable checkpoint: {type(e).__name__}: {e}") from e


class Checkpoints(Protocol):
    """Where paused sweeps wait for the next invocation."""

    def save(self, key: str, checkpoint: Checkpoint) -> None: ...

    def load(self, key: str) -> Checkpoint: ...

    def delete(self, key: str) -> None: ...
