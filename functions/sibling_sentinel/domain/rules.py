"""Sibling rules as data: where a tarball's sibling lives and what makes it usable."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Anchor(StrEnum):
    """What the sibling's name is built from: the whole tarball key, or the key without its extension."""

    KEY = "key"
    STEM = "stem"


@dataclass(frozen=True)
class SiblingRule:
    """One sibling a tarball should have.

    The sibling's key is `{anchor}{suffix}`; it is always in the tarball's own folder, so the
    suffix may not contain '/'. `stale_tolerance_s` is how much older than its tarball the sibling
    may be before the tarball counts as rewritten after the sibling was made.
    """

    name: str
    anchor: Anchor
    suffix: str
    required: bool = True
    min_bytes: int = 0
    stale_tolerance_s: int = 3600

    def __post_init__(self) -> None:
        if not self.suffix or "/" in self.suffix:
            raise ValueError(f"rule {self.name!r}: suffix {self.suffix!r} must be non-empty without '/'")
        if self.min_bytes < 0 or self.stale_tolerance_s < 0:
            raise ValueError(f"rule {self.name!r}: sizes and tolerances cannot be negative")

    def sibling_key(self, tarball_key: str, stem: str) -> str:
        return (tarball_key if self.anchor is Anchor.KEY else stem) + self.suffix

    def base_of(self, key: str) -> str | None:
        """The tarball key or stem this key would be the sibling of, or None if it cannot be one."""
        if not key.endswith(self.suffix):
            return None
        base = key[: -len(self.suffix)]
        if not base or base.endswith("/"):
            return None
        return base


def listing_rule(min_bytes: int = 64, stale_tolerance_s: int = 3600) -> SiblingRule:
    """`{key}.list.txt`: the `tar -t` output that recovery uses to find a file without the tarball."""
    return SiblingRule("listing", Anchor.KEY, ".list.txt", True, min_bytes, stale_tolerance_s)


def manifest_rule(required: bool = False, min_bytes: int = 2, stale_tolerance_s: int = 3600) -> SiblingRule:
    """`{stem}.manifest.json`: what a restore reads to pick the newest compatible backup."""
    return SiblingRule("manifest", Anchor.STEM, ".manifest.json", required, min_bytes, stale_tolerance_s)
