"""FullSweep's handler as CloudFormation's custom resource: the first sweep, and its answer over HTTP."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from sibling_sentinel.adapters.stack_response import PresignedResponder
from sibling_sentinel.errors import StorageError
from sibling_sentinel.lambda_edge.handlers import full_sweep

from stack import LambdaContext, Stack, emf


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for CloudFormation's presigned response URL, keeping each PUT body and its headers."""
    received: list[dict[str, Any]] = []

    class Answer(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(
                {"body": json.loads(self.rfile.read(length)), "type": self.headers["Content-Type"]}
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/response?sig=x", received
    server.shutdown()


def test_creating_the_stack_runs_a_real_sweep_whose_heartbeat_goes_out_before_the_answer(
    stack: Stack, cloudformation: tuple[str, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    # given a healthy bucket, checked by the event path
    stack.put("backups/h1/a.tar")
    stack.put("backups/h1/a.tar.list.txt", 300)
    stack.checked("backups/h1/a.tar")
    url, received = cloudformation
    event = {
        "RequestType": "Create",
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "req-1",
        "LogicalResourceId": "FirstSweep",
    }
    logged = io.StringIO()
    previous = full_sweep.logger.registered_handler.setStream(logged)
    # when CloudFormation creates the FirstSweep resource
    try:
        full_sweep.handler(event, LambdaContext("FullSweep"))
    finally:
        full_sweep.logger.registered_handler.setStream(previous)
    # then CloudFormation got SUCCESS, with no Content-Type (the presigned URL signs none)
    (answer,) = received
    assert answer["body"]["Status"] == "SUCCESS", answer["body"]["Reason"]
    assert answer["type"] == ""
    assert answer["body"]["Data"]["Report"].startswith("s3://")
    # and the heartbeat was emitted, and the event logged without its presigned URL (a credential)
    assert emf(capsys.readouterr().out)["SweepCompleted"] in ([1.0], 1.0)
    logs = logged.getvalue()
    assert '"LogicalResourceId":"FirstSweep"' in logs
    assert "sig=x" not in logs
    assert "127.0.0.1" not in logs


def test_an_unreachable_response_url_is_an_error() -> None:
    with pytest.raises(StorageError, match="answering CloudFormation"):
        PresignedResponder(timeout_s=2).send("http://127.0.0.1:9/x", {"Status": "SUCCESS"})


def test_a_response_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(StorageError, match="not an HTTP URL"):
        PresignedResponder().send("file:///etc/passwd", {})
