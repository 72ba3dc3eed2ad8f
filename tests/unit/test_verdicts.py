from datetime import timedelta

import pytest

from sibling_sentinel.domain.core.rules import Anchor, SiblingRule, listing_rule, manifest_rule
from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.core.verdicts import Policy, TarballVerdict, Verdict

from fakes import NOW, obj

POLICY = Policy(TarballNaming(), (listing_rule(min_bytes=64, stale_tolerance_s=3600),), grace_s=7200)
TARBALL = "backups/h/2026-11-21.tar.zst"
LISTING = TARBALL + ".list.txt"


def judge(tarball_age: float, listing: tuple[int, float] | None, policy: Policy = POLICY) -> TarballVerdict:
    siblings = {} if listing is None else {LISTING: obj(LISTING, size=listing[0], age_s=listing[1])}
    return policy.judge(obj(TARBALL, age_s=tarball_age), siblings, NOW)


def test_listing_present_and_large_enough_is_ok() -> None:
    # given an old tarball with a 200-byte listing written after it
    # when it is judged
    result = judge(86400, (200, 80000))
    # then it is ok and not a problem
    assert result.verdict is Verdict.OK
    assert not result.verdict.is_problem
    assert result.not_ok == ()


def test_absent_listing_after_grace_is_missing() -> None:
    # given a tarball older than the grace period with no listing
    result = judge(7201, None)
    # then the verdict is missing, it names the expected sibling, and it counts toward the threshold
    assert result.verdict is Verdict.MISSING
    assert result.results[0].sibling_key == LISTING
    assert result.verdict.is_problem


def test_absent_listing_within_grace_is_pending() -> None:
    # given a tarball younger than the grace period with no listing
    result = judge(7199, None)
    # then it is pending, which does not count toward the threshold
    assert result.verdict is Verdict.PENDING
    assert not result.verdict.is_problem
    assert "grace" in result.results[0].reason


def test_listing_smaller_than_minimum_is_undersized() -> None:
    # given a tarball whose listing has 10 bytes
    # when it is judged with a 64-byte minimum
    result = judge(86400, (10, 80000))
    # then the verdict is undersized, and it counts toward the threshold
    assert result.verdict is Verdict.UNDERSIZED
    assert result.verdict.is_problem
    assert "10 bytes, minimum 64" in result.results[0].reason


def test_listing_of_exactly_the_minimum_is_ok() -> None:
    assert judge(86400, (64, 80000)).verdict is Verdict.OK


def test_listing_older_than_its_tarball_beyond_tolerance_is_stale() -> None:
    # given a tarball rewritten two days after its listing was made
    result = judge(86400, (200, 86400 * 3))
    # then the listing is stale
    assert result.verdict is Verdict.STALE
    assert result.verdict.is_problem


def test_listing_older_within_tolerance_is_ok() -> None:
    # given a listing uploaded just before its tarball (within the one-hour tolerance)
    assert judge(86400, (200, 86400 + 3599)).verdict is Verdict.OK


def test_young_tarball_with_undersized_listing_is_pending() -> None:
    # given a tarball inside the grace period whose listing is too small (it may still be rewritten)
    assert judge(60, (10, 30)).verdict is Verdict.PENDING


def test_invalid_sibling_content_is_invalid() -> None:
    # given a present, large enough listing that a content check rejected
    siblings = {LISTING: obj(LISTING, size=500, age_s=80000)}
    result = POLICY.judge(obj(TARBALL), siblings, NOW, invalid={LISTING: "schema_version missing"})
    # then the verdict is invalid with the reason
    assert result.verdict is Verdict.INVALID
    assert result.verdict.is_problem
    assert "schema_version missing" in result.results[0].reason


def test_optional_sibling_absent_is_ok_but_required_one_is_missing() -> None:
    # given the listing rule plus an optional and then a required manifest rule
    naming = TarballNaming()
    optional = Policy(naming, (listing_rule(), manifest_rule(required=False)), 0)
    required = Policy(naming, (listing_rule(), manifest_rule(required=True)), 0)
    siblings = {LISTING: obj(LISTING, size=500)}
    # when a tarball with only a listing is judged
    # then the optional manifest does not matter and the required one is missing
    assert optional.judge(obj(TARBALL), siblings, NOW).verdict is Verdict.OK
    result = required.judge(obj(TARBALL), siblings, NOW)
    assert result.verdict is Verdict.MISSING
    assert [r.sibling_key for r in result.not_ok] == ["backups/h/2026-11-21.manifest.json"]


def test_overall_verdict_is_the_worst_rule_verdict() -> None:
    # given a required manifest that is missing and a listing that is undersized
    policy = Policy(TarballNaming(), (listing_rule(), manifest_rule(required=True)), 0)
    result = policy.judge(obj(TARBALL), {LISTING: obj(LISTING, size=1)}, NOW)
    # then missing wins over undersized, and both are reported
    assert result.verdict is Verdict.MISSING
    assert {r.verdict for r in result.not_ok} == {Verdict.MISSING, Verdict.UNDERSIZED}


def test_orphan_is_not_a_problem() -> None:
    assert not Verdict.ORPHAN.is_problem
    assert not Verdict.PENDING.is_problem


def test_a_listing_that_cannot_exist_says_why() -> None:
    # given a 1,024-byte tarball key: its listing would need 1,033 bytes, over S3's limit
    key = "backups/h/" + "k" * (1024 - len("backups/h/") - len(".tar")) + ".tar"
    assert len(key.encode()) == 1024
    result = POLICY.judge(obj(key), {}, NOW)
    # then it is missing, and the reason says the sibling cannot exist
    assert result.verdict is Verdict.MISSING
    assert "1033 bytes, over S3's 1024-byte limit" in result.results[0].reason


@pytest.mark.parametrize(
    "key",
    ["backups/h/db dump+v2 100%.tgz", "backups/h/résumé & <notes>.tar.xz", "backups/h/a%2Bb+c.tar"],
)
def test_odd_characters_in_keys_are_kept_verbatim(key: str) -> None:
    # given a tarball with spaces, +, %, unicode or markup in its name
    listing = key + ".list.txt"
    result = POLICY.judge(obj(key), {listing: obj(listing, size=100)}, NOW)
    # then its sibling key is the tarball key plus the suffix, byte for byte, and it is found
    assert POLICY.sibling_keys(key) == (listing,)
    assert result.verdict is Verdict.OK


def test_future_dated_tarball_is_pending() -> None:
    # given a tarball whose LastModified is ahead of the clock (skew)
    result = POLICY.judge(obj(TARBALL, age_s=-600), {}, NOW)
    assert result.verdict is Verdict.PENDING


def test_rules_reject_suffixes_that_leave_the_folder() -> None:
    with pytest.raises(ValueError, match="suffix"):
        SiblingRule("x", Anchor.KEY, "/list.txt")
    with pytest.raises(ValueError, match="negative"):
        SiblingRule("x", Anchor.KEY, ".x", min_bytes=-1)


def test_policy_needs_rules_and_a_non_negative_grace() -> None:
    with pytest.raises(ValueError, match="rule"):
        Policy(TarballNaming(), (), 0)
    with pytest.raises(ValueError, match="grace"):
        Policy(TarballNaming(), (listing_rule(),), -1)


def test_manifest_sibling_is_named_after_the_stem() -> None:
    # given the manifest rule (ADR-092: snapshot.manifest.json next to snapshot.tgz)
    rule = manifest_rule()
    # then its key is built from the stem, and its base is found back from it
    assert rule.sibling_key("b/snapshot.tgz", "b/snapshot") == "b/snapshot.manifest.json"
    assert rule.base_of("b/snapshot.manifest.json") == "b/snapshot"
    assert rule.base_of("b/.manifest.json") is None
    assert rule.base_of("b/notes.txt") is None
    assert timedelta(seconds=rule.stale_tolerance_s) == timedelta(hours=1)
