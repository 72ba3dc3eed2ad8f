"""The seven verdicts and the judgement of one tarball against its sibling rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .objects import ListedObject
from .rules import SiblingRule
from .tarballs import TarballNaming


class Verdict(StrEnum):
    OK = "ok"
    PENDING = "pending"
    MISSING = "missing"
    UNDERSIZED = "undersized"
    STALE = "stale"
    INVALID = "invalid"
    ORPHAN = "orphan"

    @property
    def is_problem(self) -> bool:
        """Whether it counts toward the threshold."""
        return self in PROBLEMS


PROBLEMS = frozenset({Verdict.MISSING, Verdict.UNDERSIZED, Verdict.STALE, Verdict.INVALID})

# A tarball's overall verdict is its worst rule verdict, in this order.
_WORST_FIRST = (
    Verdict.MISSING,
    Verdict.UNDERSIZED,
    Verdict.STALE,
    Verdict.INVALID,
    Verdict.PENDING,
    Verdict.OK,
)


@dataclass(frozen=True)
class RuleVerdict:
    rule: SiblingRule
    verdict: Verdict
    sibling_key: str
    sibling: ListedObject | None
    reason: str


@dataclass(frozen=True)
class TarballVerdict:
    tarball: ListedObject
    results: tuple[RuleVerdict, ...]

    verdict: Verdict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """The worst rule verdict, worked out once: a sweep's report reads it several times per tarball."""
        present = {r.verdict for r in self.results}
        object.__setattr__(self, "verdict", next((v for v in _WORST_FIRST if v in present), Verdict.OK))

    @property
    def not_ok(self) -> tuple[RuleVerdict, ...]:
        return tuple(r for r in self.results if r.verdict is not Verdict.OK)


@dataclass(frozen=True)
class Orphan:
    """A sibling whose tarball is not there; reported about the sibling's own key."""

    sibling: ListedObject
    rule: SiblingRule
    expected: str

    @property
    def verdict(self) -> Verdict:
        return Verdict.ORPHAN


Outcome = TarballVerdict | Orphan


@dataclass(frozen=True)
class Policy:
    """Everything that decides a verdict: which keys are tarballs, their rules, and the grace period."""

    naming: TarballNaming
    rules: tuple[SiblingRule, ...]
    grace_s: int = 7200

    def __post_init__(self) -> None:
        if not self.rules:
            raise ValueError("at least one sibling rule is needed")
        if self.grace_s < 0:
            raise ValueError("the grace period cannot be negative")

    def sibling_keys(self, tarball_key: str) -> tuple[str, ...]:
        stem = self.naming.stem(tarball_key)
        return tuple(rule.sibling_key(tarball_key, stem) for rule in self.rules)

    def judge(
        self,
        tarball: ListedObject,
        siblings: Mapping[str, ListedObject],
        now: datetime,
        invalid: Mapping[str, str] | None = None,
    ) -> TarballVerdict:
        """Judge one tarball given every sibling that was found, keyed by sibling key.

        `invalid` maps a sibling key to the reason its content failed validation; the content
        is read elsewhere, because a listing alone cannot tell.
        """
        young = (now - tarball.last_modified).total_seconds() < self.grace_s
        results = []
        for rule, key in zip(self.rules, self.sibling_keys(tarball.key), strict=True):
            verdict, reason = _judge_rule(rule, tarball, key, siblings.get(key), (invalid or {}).get(key))
            if verdict is not Verdict.OK and young:
                verdict, reason = Verdict.PENDING, f"{reason} (tarball younger than {self.grace_s}s grace)"
            results.append(RuleVerdict(rule, verdict, key, siblings.get(key), reason))
        return TarballVerdict(tarball, tuple(results))


S3_MAX_KEY_BYTES = 1024


def fits_in_s3(key: str) -> bool:
    """A longer key cannot exist, and S3 may answer a HEAD for it with 400 rather than 404."""
    return len(key.encode("utf-8")) <= S3_MAX_KEY_BYTES


def _too_long(sibling_key: str) -> str:
    if fits_in_s3(sibling_key):
        return ""
    size = len(sibling_key.encode("utf-8"))
    return f"; it cannot exist: its key would be {size} bytes, over S3's {S3_MAX_KEY_BYTES}-byte limit"


def _judge_rule(
    rule: SiblingRule,
    tarball: ListedObject,
    sibling_key: str,
    sibling: ListedObject | None,
    invalid_reason: str | None,
) -> tuple[Verdict, str]:
    if sibling is None:
        if rule.required:
            return Verdict.MISSING, f"no {rule.name} sibling{_too_long(sibling_key)}"
        return Verdict.OK, f"optional {rule.name} sibling absent"
    if sibling.size < rule.min_bytes:
        return Verdict.UNDERSIZED, f"{rule.name} is {sibling.size} bytes, minimum {rule.min_bytes}"
    lag = (tarball.last_modified - sibling.last_modified).total_seconds()
    if lag > rule.stale_tolerance_s:
        return (
            Verdict.STALE,
            f"{rule.name} is {int(lag)}s older than its tarball (tolerance {rule.stale_tolerance_s}s)",
        )
    if invalid_reason is not None:
        return Verdict.INVALID, f"{rule.name} is invalid: {invalid_reason}"
    return Verdict.OK, f"{rule.name} present"
