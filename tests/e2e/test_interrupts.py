"""Ctrl-C and SIGTERM end a sweep promptly, even while a request is stalled, with one line and no report.

The endpoint here accepts each connection, reads the request and never answers, as a server or proxy
that hangs does. The CLI's read timeout is 30 s and the SDK would retry after it; the sweep must not
wait for either.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CLI, CREDENTIALS

pytestmark = pytest.mark.e2e

STALLED_FOR_S = 120  # longer than the CLI's read timeout plus its retries


@pytest.fixture
def stalled_endpoint() -> Iterator[tuple[str, threading.Event]]:
    """A loopback endpoint that never answers; the event is set once a request has arrived."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    asked, stop = threading.Event(), threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.settimeout(STALLED_FOR_S)
            held.append(connection)
            if connection.recv(65536):
                asked.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", asked
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    server.close()


def processes_naming(text: str) -> list[str]:
    """The pids whose command line holds `text` (a worker inherits its parent's command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


@pytest.mark.parametrize(
    ("sig", "code", "words"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
    ids=["ctrl-c", "sigterm"],
)
@pytest.mark.parametrize("mode", [["--processes", "1"], ["--processes", "2"], ["--concurrency", "1"]])
def test_a_signal_ends_the_sweep_while_a_request_is_stalled(
    stalled_endpoint: tuple[str, threading.Event],
    tmp_path: Path,
    sig: signal.Signals,
    code: int,
    words: str,
    mode: list[str],
) -> None:
    endpoint, asked = stalled_endpoint
    env = {"PATH": os.environ["PATH"], **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
    env |= {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    # given a sweep whose first listing request is stalled
    sweep = subprocess.Popen(
        [str(CLI), "sweep", "s3://backups/b/", "--endpoint-url", endpoint, *mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert asked.wait(30), "the sweep never sent its first request"
        # when it is sent the signal
        sweep.send_signal(sig)
        # then it ends long before the stalled request could time out, with one line and no report
        out, err = sweep.communicate(timeout=20)
    finally:
        sweep.kill()
    assert sweep.returncode == code, err
    assert out == ""
    assert err.strip().splitlines() == [f"sibling-sentinel: {words}; nothing was reported"]
    # and no worker process is left behind
    assert processes_naming(endpoint) == []
