"""Shards on worker processes, each with its own threads: a sweep's CPU work on every core.

On a 200,000-key listing the sweep is CPU-bound on one core long before the network is busy
(docs/BENCHMARKS.md): parsing pages, botocore's per-request work and reconciling all hold the GIL.
`ShardProcesses` runs the shards that `run_shards` starts on `processes` worker processes, each with
`ceil(slots / processes)` threads, its own boto3 client and its own manifest readers. A worker sends
back `Tally`s (a page's groups and findings), new shards and `Done`; the parent only merges.

Only the CLI uses it. FullSweep lists its key ranges on threads, which can pause and carry on, and on its
memory size Lambda gives it one vCPU. (Pipes and `Process` would work there; `multiprocessing.Queue`
and `Pool` would not, for want of /dev/shm.)

Workers start with `fork` when the parent has no other thread (they begin with the parent's imports,
in milliseconds), else with `spawn`. Ctrl-C is the parent's: workers ignore SIGINT and are stopped by
`close`, which the sweep always calls. A worker that dies, or whose parent dies, ends the sweep
with an error, never with a report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from ..config import Config
from ..domain.sweep.report import Tally
from ..domain.sweep.shards import Batch, Done, Paused, Plan, Shard, ShardRunner
from ..domain.sweep.sweep import ShardSweeper, WorkerProcesses
from ..errors import SentinelError
from ..lambda_edge.startup import settle_after_startup
from ..lambda_edge.wiring import shard_sweeper

Build = Callable[[], AbstractContextManager[ShardSweeper]]
_STOP_WAIT_S = 1.0  # then terminated: Ctrl-C must end the sweep within about 2 s
_PARENT_POLL_S = 1.0
_COULD_NOT_REPORT = 70  # EX_SOFTWARE: a worker thread could not even send its shard's end


@dataclass(frozen=True)
class _Failed:
    """A worker could not start (its build failed); the sweep cannot go on without it."""

    error: BaseException


@dataclass
class _Worker:
    process: BaseProcess
    shards: Connection  # parent -> worker
    results: Connection  # worker -> parent
    running: int = 0


def threads_each(slots: int, processes: int) -> int:
    """A worker's share of the slots: its threads, and what its client and readers are sized to."""
    return math.ceil(slots / processes)


def start_method() -> str:
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


class ShardProcesses:
    """A `ShardRunner` (domain/sweep/shards.py) over worker processes."""

    def __init__(self, build: Build, processes: int, slots: int) -> None:
        if not 1 <= processes <= slots:
            raise ValueError(f"need 1 to {slots} worker processes for {slots} slots, got {processes}")
        self._slots = slots
        self._ready: deque[Batch | Tally | Shard | Paused | Done] = deque()
        self._workers: list[_Worker] = []
        self._closed = False
        method = start_method()
        context = multiprocessing.get_context(method)
        threads = threads_each(slots, processes)
        parent_ends: list[Connection] = []  # a forked worker inherits these, and must close them
        try:
            for n in range(processes):
                take, give_shards = context.Pipe(duplex=False)
                get_results, send = context.Pipe(duplex=False)
                parent_ends += [give_shards, get_results]
                # typeshed gives Process to the concrete contexts only, not to get_context()'s BaseContext
                process = context.Process(  # type: ignore[attr-defined]
                    target=_serve,
                    args=(build, threads, take, send, os.getpid(), parent_ends if method == "fork" else []),
                    name=f"sweep-worker-{n}",
                    daemon=True,
                )
                self._workers.append(_Worker(process, give_shards, get_results))
                process.start()
                take.close()
                send.close()
        except BaseException:
            self.close()
            raise

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def pids(self) -> list[int | None]:
        return [w.process.pid for w in self._workers]

    def start(self, shard: Shard) -> None:
        worker = min(self._workers, key=lambda w: w.running)
        worker.running += 1
        try:
            worker.shards.send(shard)
        except OSError:  # it died before it could take the shard
            raise _ended(worker) from None

    def next(self) -> Batch | Tally | Shard | Paused | Done:
        while not self._ready:
            by_connection = {w.results: w for w in self._workers}
            for connection in wait(list(by_connection)):
                self._receive(by_connection[connection])  # type: ignore[index]
        return self._ready.popleft()

    def _receive(self, worker: _Worker) -> None:
        try:
            item = worker.results.recv()
        except EOFError:
            raise _ended(worker) from None
        if isinstance(item, _Failed):
            raise item.error
        if isinstance(item, Done):
            worker.running -= 1
        self._ready.append(item)

    def pause(self) -> None:
        """Never asked: a sweep that may pause runs on threads (`Sweep._sharded`), since a worker process's
        reconciler state would have to travel back to be kept."""
        raise SentinelError("worker processes cannot pause a sweep")

    def close(self) -> None:
        """Tells every worker to stop, waits a little, then terminates what is left; idempotent.

        A second Ctrl-C while it waits still terminates every worker on its way out.
        """
        if self._closed:
            return
        self._closed = True
        started = [w for w in self._workers if w.process.pid is not None]
        try:
            for worker in started:
                with contextlib.suppress(OSError):  # already gone
                    worker.shards.send(None)
            deadline = time.monotonic() + _STOP_WAIT_S
            for worker in started:
                worker.process.join(max(0.0, deadline - time.monotonic()))
        finally:
            for worker in started:
                if worker.process.is_alive():
                    worker.process.terminate()
                    worker.process.join()
            for worker in self._workers:
                worker.shards.close()
                worker.results.close()


def _ended(worker: _Worker) -> BaseException:
    """Why a worker is gone: the error it sent before it went, else that it ended (killed, crashed)."""
    try:
        while worker.results.poll():
            item = worker.results.recv()
            if isinstance(item, _Failed):
                return item.error
            if isinstance(item, Done) and item.error is not None:
                return item.error
    except (EOFError, OSError):
        pass
    worker.process.join(_STOP_WAIT_S)
    return SentinelError(
        f"sweep worker process {worker.process.pid} ended (exit code {worker.process.exitcode}) "
        "before its shards were done; the sweep did not finish"
    )


class _ParentGone(Exception):
    pass


def _serve(
    build: Build,
    threads: int,
    shards_in: Connection,
    results: Connection,
    parent: int,
    parent_ends: list[Connection],
) -> None:
    """A worker process: shards from the parent onto `threads` threads, what they give back to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for end in parent_ends:  # forked: without this, a parent that dies would never read as EOF here
        end.close()
    lock = threading.Lock()

    def send(item: Tally | Shard | Done | _Failed) -> None:
        try:
            with lock:
                results.send(item)
        except OSError as e:  # the parent has closed its end, or is gone: the sweep has stopped
            raise _ParentGone from e

    try:
        with build() as sweeper:
            settle_after_startup()  # a spawned worker's own; a forked one has its parent's already
            work: queue.Queue[Shard] = queue.Queue()  # its threads are daemons: they end with the process
            for n in range(threads):
                threading.Thread(
                    target=_work, args=(sweeper, work, send), name=f"sweep-shard-{n}", daemon=True
                ).start()
            while (shard := _next_shard(shards_in, parent)) is not None:
                work.put(shard)
    except _ParentGone:
        return
    except BaseException as e:
        try:
            send(_Failed(portable(e)))
        except _ParentGone:
            return


def _work(
    sweeper: ShardSweeper, work: queue.Queue[Shard], send: Callable[[Tally | Shard | Done], None]
) -> None:
    """Sweeps shards for as long as the process lives; a shard that cannot even report its end kills the
    worker, so the parent sees it die instead of waiting for it for ever."""
    try:
        while True:
            shard = work.get()
            error: BaseException | None = None
            try:
                sweeper.sweep(shard, send)
            except _ParentGone:
                return
            except BaseException as e:  # the shard's failure fails the sweep, in the parent
                error = portable(e)
            send(Done(error))
    except _ParentGone:
        return
    except BaseException:
        os._exit(_COULD_NOT_REPORT)


def _next_shard(shards_in: Connection, parent: int) -> Shard | None:
    """The next shard, or None when the parent says stop, closes its end, or is gone."""
    while not shards_in.poll(_PARENT_POLL_S):
        if os.getppid() != parent:
            return None
    try:
        shard: Shard | None = shards_in.recv()
    except EOFError:
        return None
    return shard


def portable(error: BaseException) -> BaseException:
    """The error itself when it survives pickling (the product's own errors do), else its text.

    Anything but an `Exception` (SystemExit, KeyboardInterrupt in a worker) becomes a SentinelError,
    so it fails the sweep in the parent as an error instead of ending it quietly.
    """
    if isinstance(error, Exception):
        try:
            pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes, just made)
            return error
        except Exception:  # noqa: S110 (it is described below instead)
            pass
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:
        text = type(error).__name__
    return SentinelError(f"in a sweep worker: {text}")


def shard_processes(config: Config, processes: int) -> WorkerProcesses:
    """Starts the worker processes for a sharded sweep, once it knows its plan and reference time.

    Each worker gets its share of the concurrency (for its threads, connections and manifest readers);
    the plan keeps the whole of it, so shards are split for all the listings at once.
    """

    def start(bucket: str, prefix: str, plan: Plan, now: datetime) -> ShardRunner:
        share = dataclasses.replace(config, concurrency=threads_each(plan.workers, processes))
        build = functools.partial(shard_sweeper, share, bucket, prefix, plan, now)
        return ShardProcesses(build, processes, plan.workers)

    return start
