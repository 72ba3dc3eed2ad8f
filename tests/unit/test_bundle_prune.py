"""`make build` takes the CLI's edge out of every function `sam build` made (infra/lambda_bundle.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra"))
import lambda_bundle


def _function(build: Path, name: str) -> Path:
    package = build / name / "sibling_sentinel"
    for room in ("cli", "lambda_edge/handlers", "domain/core"):
        (package / room).mkdir(parents=True)
        (package / room / "__init__.py").write_text("")
    return package


def test_prune_takes_cli_out_of_every_function_and_nothing_else(tmp_path: Path) -> None:
    # given two functions as sam build leaves them, each with the whole package
    packages = [_function(tmp_path, "FullSweep"), _function(tmp_path, "CheckSiblings")]
    # when the build is pruned
    removed = lambda_bundle.prune(tmp_path)
    # then cli/ is gone from both, and Lambda's edge and the domain stay
    assert sorted(removed) == sorted(p / "cli" for p in packages)
    for package in packages:
        assert not (package / "cli").exists()
        assert (package / "lambda_edge" / "handlers" / "__init__.py").exists()
        assert (package / "domain" / "core" / "__init__.py").exists()


def test_copy_source_leaves_cli_out_unless_asked(tmp_path: Path) -> None:
    # given the real package
    # when it is copied as the bundle holds it, and with the CLI
    bundled = lambda_bundle.copy_source(tmp_path / "bundle")
    whole = lambda_bundle.copy_source(tmp_path / "whole", with_cli=True)
    # then only the second has cli/, and both have every handler
    assert not (bundled / "cli").exists()
    assert (whole / "cli" / "main.py").exists()
    for package in (bundled, whole):
        assert (package / "lambda_edge" / "handlers" / "full_sweep.py").exists()
        assert not list(package.rglob("__pycache__"))
