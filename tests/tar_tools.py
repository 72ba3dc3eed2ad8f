"""Real tarballs for the tests, made by the system's `tar` and each compressor's own command-line tool.

The tools are Debian packages; when one is missing and we are root (as CI is), it is installed with
apt-get, so a fresh machine needs nothing by hand.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

# compression -> (extension, command that compresses stdin to stdout, Debian package)
COMPRESSORS: dict[str, tuple[str, list[str], str]] = {
    "none": (".tar", ["cat"], "coreutils"),
    "gzip": (".tar.gz", ["gzip", "-c"], "gzip"),
    "bzip2": (".tar.bz2", ["bzip2", "-c"], "bzip2"),
    "xz": (".tar.xz", ["xz", "-c", "-T1"], "xz-utils"),
    "zstd": (".tar.zst", ["zstd", "-q", "-c"], "zstd"),
    "lz4": (".tar.lz4", ["lz4", "-q", "-c"], "lz4"),
}
UTF8 = {**os.environ, "LC_ALL": "C.UTF-8"}


@functools.cache
def ensure_tools() -> None:
    """Installs the compressors that are not on PATH (once per test run)."""
    missing = [pkg for _, (_, cmd, pkg) in COMPRESSORS.items() if shutil.which(cmd[0]) is None]
    if shutil.which("tar") is None:
        missing.append("tar")
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"the tests need {', '.join(missing)}; install them (apt-get install ...)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, capture_output=True)


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


def make_tarball(tree: Path, out: Path, compression: str, *tar_args: str, members: str = ".") -> Path:
    """`tar -c -C tree members | compressor > out`, as a backup pipeline writes one."""
    ensure_tools()
    _, command, _ = COMPRESSORS[compression]
    with out.open("wb") as sink:
        tar = subprocess.Popen(["tar", "-c", *tar_args, "-C", str(tree), members], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        subprocess.run(command, stdin=tar.stdout, stdout=sink, check=True)
        tar.stdout.close()
        assert tar.wait() == 0
    return out


def tar_t(tarball: Path) -> bytes:
    """What `tar -t` prints for the tarball, decompressed by the compressor's own tool, in a UTF-8 locale."""
    ensure_tools()
    compression = compression_of_path(tarball)
    decompress = {
        "gzip": "gzip -dc",
        "bzip2": "bzip2 -dc",
        "xz": "xz -dc",
        "zstd": "zstd -dcq",
        "lz4": "lz4 -dcq",
    }
    if compression == "none":
        return subprocess.run(
            ["tar", "-t", "-f", str(tarball)], check=True, capture_output=True, env=UTF8
        ).stdout
    program = f"--use-compress-program={decompress[compression]}"
    return subprocess.run(
        ["tar", "-t", program, "-f", str(tarball)], check=True, capture_output=True, env=UTF8
    ).stdout


def compression_of_path(tarball: Path) -> str:
    for compression, (ext, _, _) in COMPRESSORS.items():
        if compression != "none" and tarball.name.endswith(ext):
            return compression
    return "none"


def tar_t_of_bytes(body: bytes, compression: str, tmp: Path) -> bytes:
    path = tmp / f"check{COMPRESSORS[compression][0]}"
    path.write_bytes(body)
    return tar_t(path)


def some_files(n: int = 12, size: int = 3000) -> dict[str, bytes]:
    """A small tree: a few folders, files of varied bytes, and awkward names."""
    files = {f"data/part-{i:03d}.bin": bytes((i * 7 + j * 13) % 251 for j in range(size)) for i in range(n)}
    files |= {
        "etc/with space.conf": b"a = 1\n",
        "etc/plus+percent%20.txt": b"+%\n",
        "etc/caf\u00e9 \u00fc\u00f1.txt": b"unicode\n",
        "etc/amp&<lt>gt.txt": b"&<>\n",
    }
    return files
