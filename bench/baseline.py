"""The previous release, built from git, so a benchmark can run it beside the code in this tree.

`BASELINE_REV` is the code before issue 18 (the CPU-per-key work); `BENCH_BASELINE_REV` overrides it.
Its `functions/` folder is extracted with `git archive` into `.cache/baseline/<commit>/` (once; later
runs reuse it) and run with this venv's interpreter and packages, `PYTHONPATH` pointing at it, so the
only difference between the two contenders is the product's own code.

A shallow clone does not hold the commit: the bench stops with one line saying so, rather than
fetching history behind the operator's back (`git fetch --unshallow` fixes it).
"""

from __future__ import annotations

import compileall
import importlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

BASELINE_REV = "1815717"  # the last commit before issue 18
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "baseline"
CURRENT = ROOT / "functions"
# What the console script runs, in this layout or the one before issue 19 (`cli.py`, `handlers/`),
# so the same command runs either release.
CLI = (
    "try:\n from sibling_sentinel.cli.main import entry\n"
    "except ImportError:\n from sibling_sentinel.cli import entry\n"
    "entry()"
)
HANDLERS = ("sibling_sentinel.lambda_edge.handlers", "sibling_sentinel.handlers")


def handlers_folder(functions: Path) -> tuple[str, Path]:
    """The handlers' package in a release's `functions/`, and its folder."""
    for package in HANDLERS:
        folder = functions.joinpath(*package.split("."))
        if folder.is_dir():
            return package, folder
    raise SystemExit(f"bench: no handlers under {functions}")


def handler_module(name: str) -> ModuleType:
    """A handler module of whichever release is on the path."""
    for package in HANDLERS:
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("sibling_sentinel"):
                raise
    raise SystemExit(f"bench: no handler {name!r} in {HANDLERS}")


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=False)


def revision() -> str:
    return os.environ.get("BENCH_BASELINE_REV") or BASELINE_REV


def commit(rev: str) -> str:
    """The full id of `rev`; a missing commit ends the bench with a one-line reason."""
    if _git("rev-parse", "--git-dir").returncode != 0:
        raise SystemExit(f"bench: {ROOT} is not a git clone; the previous release ({rev}) is built from git")
    found = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode == 0:
        return found.stdout.decode().strip()
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == b"true":
        raise SystemExit(
            f"bench: the previous release {rev} is not in this shallow clone; "
            "run `git fetch --unshallow` and try again"
        )
    raise SystemExit(f"bench: {rev} is not a commit of this repository (BENCH_BASELINE_REV?)")


def tree(rev: str | None = None) -> Path:
    """The previous release's `functions/` folder, extracted once per commit."""
    full = commit(rev or revision())
    target = CACHE / full
    if (target / "functions" / "sibling_sentinel" / "__init__.py").exists():
        return target / "functions"
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        archive = Path(scratch) / "functions.tar"
        made = _git("archive", "--format=tar", f"--output={archive}", full, "functions")
        if made.returncode != 0:
            raise SystemExit(f"bench: git archive {full[:12]} failed: {made.stderr.decode().strip()}")
        unpacked = Path(scratch) / "tree"
        unpacked.mkdir()
        subprocess.run(["tar", "-xf", str(archive), "-C", str(unpacked)], check=True)
        unpacked.rename(target)  # whole or not at all: a run cut short leaves only the scratch folder
    return target / "functions"


def env(functions: Path, base: Mapping[str, str]) -> dict[str, str]:
    """`base` with `sibling_sentinel` imported from `functions` ahead of the editable install.

    The tree's modules are compiled to bytecode first: where PYTHONDONTWRITEBYTECODE is set (it is on
    these machines), a tree without `__pycache__` compiles every module at every start, and a run would
    time the compiler as well as the code (about 0.07 s of CPU a process start, measured)."""
    compileall.compile_dir(functions, quiet=1)
    return {**base, "PYTHONPATH": str(functions)}


def cli(functions: Path, base: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The CLI of the code in `functions`, as a command and its environment; checked to import from there."""
    child = env(functions, base)
    where = subprocess.run(
        [sys.executable, "-c", "import sibling_sentinel; print(sibling_sentinel.__file__)"],
        capture_output=True,
        text=True,
        env=child,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(functions.resolve()):
        raise SystemExit(f"bench: sibling_sentinel imported from {where}, not from {functions}")
    return [sys.executable, "-c", CLI], child


def describe(rev: str | None = None) -> str:
    """`1815717 (its subject)`, for the tables."""
    full = commit(rev or revision())
    subject = _git("log", "-1", "--format=%s", full).stdout.decode().strip()
    return f"`{full[:7]}` ({subject[:70]}{'…' if len(subject) > 70 else ''})"
