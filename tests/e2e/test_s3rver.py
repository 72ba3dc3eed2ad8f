"""The CLI against an S3 server that nobody here wrote: s3rver 3.7.1, from the npm registry.

s3rver leaves the CommonPrefix of a folder that holds only sub-folders out of a delimiter listing. A
sweep that trusted those folders never listed that subtree; range shards must find everything there.
The fixture installs s3rver with npm into `.cache/s3rver/` (once) and starts and stops it itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from conftest import CLI

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "s3rver"
VERSION = "3.7.1"
BUCKET = "backups-b"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "S3RVER",
    "AWS_SECRET_ACCESS_KEY": "S3RVER",
    "AWS_DEFAULT_REGION": "us-east-1",
}
LISTING = b"etc/hosts\n" * 20


def s3rver_binary() -> Path:
    binary = CACHE / "node_modules" / ".bin" / "s3rver"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install s3rver for this test (the machine's Node.js provides it)")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(CACHE),
                f"s3rver@{VERSION}",
            ],
            check=True,
            timeout=300,
        )
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("s3rver-data")
    server = subprocess.Popen(
        [
            str(s3rver_binary()),
            "-d",
            str(data),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "--silent",
            "--allow-mismatched-signatures",
            "--configure-bucket",
            BUCKET,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        seed(endpoint)
        yield endpoint
    finally:
        server.terminate()
        server.wait(10)


def seed(endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        **{k.lower(): v for k, v in CREDENTIALS.items() if "KEY" in k},
        region_name="us-east-1",
    )
    keys = {
        "backups/alpha/n1.tar.gz": b"t",
        "backups/alpha/n1.tar.gz.list.txt": LISTING,
        "backups/alpha/n2.tar.gz": b"t",  # missing listing
        "backups/beta/n1.tar.gz": b"t",
        "backups/beta/n1.tar.gz.list.txt": LISTING,
        "backups/beta/deep/nested/lost.tar": b"t",  # missing listing, in a folder of folders only
        "backups/beta/deep/nested/ok.tar": b"t",
        "backups/beta/deep/nested/ok.tar.list.txt": LISTING,
        "backups/gamma/a b+c.tar.zst": b"t",
        "backups/gamma/a b+c.tar.zst.list.txt": b"tiny",
        "backups/gamma/x.tar.gz": b"t",
        "backups/gamma/x.tar.gz.d/notes.txt": b"n",
        "backups/gamma/x.tar.gz.list.txt": LISTING,
    }
    for key, body in keys.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def sweep(endpoint: str, tmp_path: Path, *flags: str) -> dict[str, object]:
    env = {"PATH": os.environ["PATH"], **CREDENTIALS}
    env |= {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    result = subprocess.run(
        [
            str(CLI),
            "sweep",
            f"s3://{BUCKET}/backups/",
            "--endpoint-url",
            endpoint,
            "--format",
            "json",
            "--grace",
            "0",
            *flags,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr  # the missing and undersized listings breach
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_s3rver_leaves_out_the_folder_that_holds_only_sub_folders(s3rver: str) -> None:
    # given s3rver, seeded with a folder `deep/` that holds only a sub-folder
    s3 = boto3.client(
        "s3",
        endpoint_url=s3rver,
        aws_access_key_id="S3RVER",
        aws_secret_access_key="S3RVER",
        region_name="us-east-1",
    )
    # when beta's folder is listed with a delimiter
    page = s3.list_objects_v2(Bucket=BUCKET, Prefix="backups/beta/", Delimiter="/")
    # then the server's answer is the one this test is about (if s3rver is ever fixed, the test still holds)
    folders = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert "backups/beta/deep/" not in folders


@pytest.mark.parametrize(
    "flags",
    [[], ["--processes", "1"], ["--processes", "2"], ["--concurrency", "1"]],
    ids=["default", "threads", "processes", "flat"],
)
def test_every_sweep_path_finds_every_tarball_on_s3rver(
    s3rver: str, tmp_path: Path, flags: list[str]
) -> None:
    # given s3rver and its incomplete delimiter listings
    # when swept on each path
    report = sweep(s3rver, tmp_path, *flags)
    # then every tarball is counted, and the missing listing in the hidden folder is reported
    counts = report["counts"]
    assert isinstance(counts, dict)
    assert counts["tarballs"] == 7
    assert counts["missing"] == 2
    assert counts["undersized"] == 1
    findings = report["findings"]
    assert isinstance(findings, list)
    assert {f["key"] for f in findings} == {
        "backups/alpha/n2.tar.gz",
        "backups/beta/deep/nested/lost.tar",
        "backups/gamma/a b+c.tar.zst",
    }
    assert report["objects_listed"] == 13
