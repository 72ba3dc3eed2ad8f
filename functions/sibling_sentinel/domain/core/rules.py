"""Sibling rules as data: where a tarball's sibling lives and what makes it usable."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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


MANIFEST = "manifest"


def manifest_rule(required: bool = False, min_bytes: int = 2, stale_tolerance_s: int = 3600) -> SiblingRule:
    """`{stem}.manifest.json`: what a restore reads to pick the newest compatible backup."""
    return SiblingRule(MANIFEST, Anchor.STEM, ".manifest.json", required, min_bytes, stale_tolerance_s)


class Requirement(StrEnum):
    """How a scoped rule applies under a prefix: not at all, checked when present, or required."""

    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


def folder_of(key: str) -> str:
    return key[: key.rfind("/") + 1]


@dataclass(frozen=True)
class ScopedRule:
    """A rule whose requirement depends on where the tarball is: the longest matching folder wins.

    Prefixes are folders (`backups/corpus/` covers `backups/corpus/x/`, never `backups/corpus-old/`),
    and a tarball and its siblings share a folder, so both always get the same requirement.
    """

    rule: SiblingRule
    default: Requirement = Requirement.OFF
    prefixes: tuple[tuple[str, Requirement], ...] = ()
    _optional: SiblingRule = field(init=False, repr=False, compare=False)
    _required: SiblingRule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for prefix, _ in self.prefixes:
            if not prefix.endswith("/"):
                raise ValueError(f"rule {self.rule.name!r}: prefix {prefix!r} must be a folder ending in '/'")
        longest_first = tuple(sorted(self.prefixes, key=lambda p: len(p[0]), reverse=True))
        object.__setattr__(self, "prefixes", longest_first)
        object.__setattr__(self, "_optional", replace(self.rule, required=False))
        object.__setattr__(self, "_required", replace(self.rule, required=True))

    def requirement(self, key: str) -> Requirement:
        folder = folder_of(key)
        return next((r for p, r in self.prefixes if folder.startswith(p)), self.default)

    def at(self, key: str) -> SiblingRule | None:
        """The rule as it applies to a key in this folder, or None where it is off."""
        requirement = self.requirement(key)
        if requirement is Requirement.OFF:
            return None
        return self._required if requirement is Requirement.REQUIRED else self._optional

    @property
    def ever_on(self) -> bool:
        return self.default is not Requirement.OFF or any(r is not Requirement.OFF for _, r in self.prefixes)
