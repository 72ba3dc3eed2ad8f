"""The Lambda bundle: the package without the CLI's edge (`cli/`), plus functions/requirements.txt.

SAM's Python builder copies the whole `CodeUri` and has no exclude list (aws/aws-lambda-builders#185),
so `make build` runs `sam build` and then `--prune .aws-sam/build`, which takes `cli/` out of every
function's copy. Nothing Lambda runs imports `cli/` (tests/unit/test_layering.py refuses that arrow,
and tests/e2e/test_bundle.py runs the handlers from a bundle made by `copy_source`, without it).

`--measure` makes the bundle the way SAM's builder does (requirements for arm64 and Python 3.12,
then the source) and prints its size with and without `cli/`, zipped as Lambda stores it.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "functions" / "sibling_sentinel"
REQUIREMENTS = ROOT / "functions" / "requirements.txt"
LEFT_OUT = ("cli",)  # the CLI's edge: commands, worker processes, the demo


def copy_source(dest: Path, *, with_cli: bool = False) -> Path:
    """The package as the bundle holds it, under `dest/sibling_sentinel`."""
    target = dest / "sibling_sentinel"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    if not with_cli:
        for name in LEFT_OUT:
            shutil.rmtree(target / name)
    return target


def install_requirements(dest: Path) -> None:
    """functions/requirements.txt as SAM's builder installs it for the template's arm64 Python 3.12."""
    subprocess.run(  # noqa: S603 (our own interpreter and file)
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(dest), "--platform", "manylinux2014_aarch64", "--implementation", "cp",
            "--python-version", "3.12", "--only-binary=:all:", "-r", str(REQUIREMENTS),
        ],
        check=True,
    )  # fmt: skip


def prune(build_dir: Path) -> list[Path]:
    """Takes `cli/` out of every function `sam build` made; returns what it removed."""
    removed = []
    for package in sorted(build_dir.glob("*/sibling_sentinel")):
        for name in LEFT_OUT:
            if (package / name).is_dir():
                shutil.rmtree(package / name)
                removed.append(package / name)
    return removed


def zipped_size(folder: Path) -> tuple[int, int]:
    """(bytes on disk, bytes zipped with deflate) of everything under `folder`."""
    buffer, raw = io.BytesIO(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                raw += path.stat().st_size
                archive.write(path, path.relative_to(folder))
    return raw, buffer.tell()


def measure() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        deps = Path(tmp) / "deps"
        install_requirements(deps)
        for with_cli in (True, False):
            bundle = Path(tmp) / f"bundle-{with_cli}"
            shutil.copytree(deps, bundle)
            source = copy_source(bundle, with_cli=with_cli)
            code_raw, code_zip = zipped_size(source)
            all_raw, all_zip = zipped_size(bundle)
            label = "with cli/   " if with_cli else "without cli/"
            print(
                f"{label} package {code_raw / 1024:7.1f} KiB ({code_zip / 1024:6.1f} KiB zipped); "
                f"bundle {all_raw / 2**20:6.2f} MiB ({all_zip / 2**20:5.2f} MiB zipped)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prune", type=Path, metavar="BUILD_DIR", help="take cli/ out of a sam build")
    parser.add_argument(
        "--measure", action="store_true", help="print the bundle's size with and without cli/"
    )
    args = parser.parse_args()
    if args.prune:
        removed = prune(args.prune)
        if not removed:
            print(f"no function bundle with cli/ under {args.prune}", file=sys.stderr)
            return 1
        print(f"left cli/ out of {len(removed)} function bundle(s) under {args.prune}")
    if args.measure:
        measure()
    return 0


if __name__ == "__main__":
    sys.exit(main())
