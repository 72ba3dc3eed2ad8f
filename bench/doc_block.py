"""The generated blocks of the docs: text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def source_command() -> str:
    """The command a block says it came from: `make bench` under make, else this script's own line."""
    return "make bench" if os.environ.get("MAKELEVEL") else " ".join(["python", *sys.argv])


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def read_block(doc: Path, name: str) -> str:
    begin, end = _markers(name)
    text = doc.read_text(encoding="utf-8")
    return text[text.index(begin) + len(begin) : text.index(end)]


def write_block(doc: Path, name: str, content: str) -> None:
    begin, end = _markers(name)
    text = doc.read_text(encoding="utf-8")
    start, stop = text.index(begin) + len(begin), text.index(end)
    doc.write_text(text[:start] + "\n" + content + "\n" + text[stop:], encoding="utf-8")


def publish(text: str, doc: Path, name: str, write: bool) -> None:
    """A bench's result: printed, and with `--write-doc` also written into its block of `doc`."""
    print(text)
    if write:
        write_block(doc, name, text)
