"""The seven verdicts and the judgement of one tarball against its sibling rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .objects import ListedObject, ListedPage
from .rules import ScopedRule, SiblingRule, folder_of
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


class Checksum(StrEnum):
    """Whether a valid manifest's archive.sha256 could be compared with what S3 holds."""

    VERIFIED = "verified"
    UNVERIFIABLE = "unverifiable"


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
_RANK = {v: i for i, v in enumerate(_WORST_FIRST)}
_OK = Verdict.OK  # a module constant: reading a member off the enum class costs a Python-level lookup
_PENDING = Verdict.PENDING
_NONE: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    rule: SiblingRule
    verdict: Verdict
    sibling_key: str
    sibling: ListedObject | None
    reason: str
    checksum: Checksum | None = None  # set for a valid manifest: could its sha256 be checked against S3?

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule.name,
            "sibling": self.sibling_key,
            "verdict": self.verdict.value,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class TarballVerdict:
    tarball: ListedObject
    results: tuple[RuleVerdict, ...]

    verdict: Verdict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """The worst rule verdict, worked out once: a sweep's report reads it several times per tarball."""
        ranks = [_RANK[r.verdict] for r in self.results if r.verdict in _RANK]
        object.__setattr__(self, "verdict", _WORST_FIRST[min(ranks)] if ranks else _OK)

    @property
    def not_ok(self) -> tuple[RuleVerdict, ...]:
        return tuple(r for r in self.results if r.verdict is not _OK)

    @property
    def siblings(self) -> dict[str, ListedObject]:
        """Every sibling that was found, keyed by sibling key, as `Policy.judge` takes them."""
        return {r.sibling_key: r.sibling for r in self.results if r.sibling is not None}

    def result_of(self, rule_name: str) -> RuleVerdict | None:
        return next((r for r in self.results if r.rule.name == rule_name), None)


@dataclass(frozen=True, slots=True)
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
    scoped: tuple[ScopedRule, ...] = ()  # rules that apply under some prefixes only (the manifest)
    _last: tuple[str, tuple[SiblingRule, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.rules:
            raise ValueError("at least one sibling rule is needed")
        if self.grace_s < 0:
            raise ValueError("the grace period cannot be negative")

    def rules_at(self, key: str) -> tuple[SiblingRule, ...]:
        """The rules in force in this key's folder; keys come in folder order, so one is remembered."""
        if not self.scoped:
            return self.rules
        folder = folder_of(key)
        last = self._last  # one read: worker threads judge too, and the pair is replaced whole
        if last is not None and last[0] == folder:
            return last[1]
        here = self.rules + tuple(r for r in (s.at(key) for s in self.scoped) if r is not None)
        object.__setattr__(self, "_last", (folder, here))
        return here

    def sibling_keys(self, tarball_key: str) -> tuple[str, ...]:
        stem = self.naming.stem(tarball_key)
        return tuple([rule.sibling_key(tarball_key, stem) for rule in self.rules_at(tarball_key)])

    def judge(
        self,
        tarball: ListedObject,
        siblings: Mapping[str, ListedObject],
        now: datetime,
        invalid: Mapping[str, str] | None = None,
    ) -> TarballVerdict:
        """Judge one tarball given every sibling that was found, keyed by sibling key.

        `invalid` maps a sibling key to the reason its content failed validation; the content is
        read elsewhere, because a listing alone cannot tell.
        """
        rules, keys = self.rules_at(tarball.key), self.sibling_keys(tarball.key)
        return self.judge_listed(tarball, rules, keys, siblings, now, invalid)

    def judge_listed(
        self,
        tarball: ListedObject,
        rules: Sequence[SiblingRule],
        sibling_keys: Sequence[str],
        siblings: Mapping[str, ListedObject],
        now: datetime,
        invalid: Mapping[str, str] | None = None,
    ) -> TarballVerdict:
        """`judge` with the rules and sibling keys the sweep already worked out when it listed the tarball."""
        young: bool | None = None  # worked out only for a rule that is not ok, which few are
        invalid = invalid or _NONE
        results = []
        for rule, key in zip(rules, sibling_keys, strict=True):
            sibling = siblings.get(key)
            verdict, reason = _judge_rule(rule, tarball, key, sibling, invalid.get(key))
            if verdict is not _OK:
                if young is None:
                    young = (now - tarball.last_modified).total_seconds() < self.grace_s
                if young:
                    verdict, reason = _PENDING, f"{reason} (tarball younger than {self.grace_s}s grace)"
            results.append(RuleVerdict(rule, verdict, key, sibling, reason))
        return TarballVerdict(tarball, tuple(results))


S3_MAX_KEY_BYTES = 1024


def fits_in_s3(key: str) -> bool:
    """A longer key cannot exist, so it is never asked for."""
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
        return _OK, f"optional {rule.name} sibling absent"
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
    return _OK, f"{rule.name} present"


@dataclass(frozen=True, slots=True)
class OkTarballs:
    """Tarballs of one page that the sweep's fast path (`Reconciler` with `tally`) judged ok: counted into
    a report as they are (`Report.add_ok`), built into verdicts only when asked (`verdicts`).

    Row `r` of `page` is a tarball and row `r + 1` its key-anchored sibling, found, large enough and not
    stale; every other rule's sibling is absent and optional. Nothing else is needed to know the verdict.
    """

    page: ListedPage
    rows: list[int]

    def verdicts(self, policy: Policy, now: datetime) -> list[TarballVerdict]:
        """The verdicts `Policy.judge` gives these tarballs, with the sibling each was found with."""
        out = []
        for row in self.rows:
            tarball, sibling = self.page[row], self.page[row + 1]
            found = {sibling.key: sibling}
            out.append(policy.judge(tarball, found, now))
        return out
