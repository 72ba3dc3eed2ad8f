"""Writes functions/requirements.txt, the Lambda bundle's dependencies, from pyproject.toml.

pyproject.toml is the one source of truth. The bundle gets `[project].dependencies` except what the
Lambda Python runtime already provides (boto3, botocore), plus the `verify` extra (zstandard, lz4: the
sampled verification decompresses .tar.zst and .tar.lz4 in Lambda); the `demo`, `bench` and `dev`
extras are CLI-only or test-only and are never bundled. `--check` exits 1 when the file has drifted (the tests run it).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
REQUIREMENTS = ROOT / "functions" / "requirements.txt"
RUNTIME_PROVIDED = {"boto3", "botocore"}
BUNDLED_EXTRAS = ("verify",)
HEADER = (
    "# Generated from pyproject.toml by `make requirements` (infra/lambda_requirements.py); do not edit.\n"
    "# The Lambda bundle: [project].dependencies minus boto3/botocore, which the runtime provides,\n"
    "# plus the verify extra.\n"
)


def package_name(requirement: str) -> str:
    for stop in "<>=!~[; ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def render(pyproject: Path = PYPROJECT) -> str:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"]]
    for extra in BUNDLED_EXTRAS:
        wanted += project["optional-dependencies"][extra]
    bundled = [r for r in wanted if package_name(r) not in RUNTIME_PROVIDED]
    return HEADER + "".join(f"{r}\n" for r in sorted(bundled, key=package_name))


def main(argv: list[str]) -> int:
    wanted = render()
    if "--check" in argv:
        if REQUIREMENTS.read_text(encoding="utf-8") != wanted:
            sys.stderr.write(f"{REQUIREMENTS} has drifted from pyproject.toml; run `make requirements`\n")
            return 1
        return 0
    REQUIREMENTS.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
