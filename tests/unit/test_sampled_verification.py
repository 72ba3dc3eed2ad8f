"""Which tarballs a night verifies: a rotation by key hash, newest first, within the byte budget."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sibling_sentinel.domain.core.tarballs import TarballNaming
from sibling_sentinel.domain.verify.sampled_verification import (
    VERIFY_BYTES_PER_S,
    AutoRepair,
    largest_verifiable,
    night_of,
    slot_of,
    tonight,
)
from sibling_sentinel.errors import ConfigError
from sibling_sentinel.lambda_edge.verify_config import SamplingConfig

from fakes import NOW, obj

NAMING = TarballNaming()


def test_every_tarball_comes_up_exactly_once_in_a_cycle_of_nights() -> None:
    # given 500 tarballs and a cycle of 7 nights
    keys = [f"backups/h{i % 13}/2026-11-{i:04d}.tar.zst" for i in range(500)]
    pages = [[obj(k) for k in sorted(keys)]]

    # when 7 consecutive nights each take their slot
    seen: Counter[str] = Counter()
    for day in range(7):
        night = night_of(NOW + timedelta(days=day), 7)
        seen.update(t.key for t in tonight(pages, NAMING, night, 7).slot)

    # then each tarball was taken once, and the slots share the work
    assert set(seen) == set(keys)
    assert set(seen.values()) == {1}
    sizes = [sum(slot_of(k, 7) == s for k in keys) for s in range(7)]
    assert min(sizes) > 40


def test_the_slot_of_a_key_does_not_change_with_the_bucket() -> None:
    # a key keeps its night whatever else is uploaded: the rotation is by hash, not by position
    assert slot_of("backups/h1/a.tar.gz", 7) == slot_of("backups/h1/a.tar.gz", 7)
    assert {slot_of(f"k{i}.tar", 3) for i in range(50)} == {0, 1, 2}


def test_tarballs_without_a_listing_are_found_in_one_pass() -> None:
    # given tarballs with and without listings, and keys that sort between a tarball and its listing
    page = [
        obj("b/h/a.tar.gz"),
        obj("b/h/a.tar.gz.d/notes.txt"),
        obj("b/h/a.tar.gz.list.txt"),
        obj("b/h/b.tar.gz"),
        obj("b/h/b.tar.gz.sha256"),
        obj("b/h/c.tar.gz"),
    ]

    # when tonight is worked out (split over two pages)
    found = tonight([page[:3], page[3:]], NAMING, night=0, nights=1)

    # then b and c have no listing, a has; every tarball is in the one-night slot
    assert [t.key for t in found.unlisted] == ["b/h/b.tar.gz", "b/h/c.tar.gz"]
    assert found.tarballs == 3
    assert len(found.slot) == 3


def test_the_biggest_verifiable_tarball_follows_each_compression_s_speed() -> None:
    # slower decoders verify smaller tarballs in one 15-minute invocation
    limits = {c: largest_verifiable(c, 900) for c in VERIFY_BYTES_PER_S}
    assert limits["bzip2"] < limits["xz"] < limits["gzip"] <= limits["zstd"]
    assert all(limit > 0 for limit in limits.values())


def test_sampling_settings_come_from_the_environment() -> None:
    env = {"VERIFY_BUDGET_BYTES": "1000", "VERIFY_CYCLE_NIGHTS": "14", "AUTO_REPAIR": "Missing"}
    assert SamplingConfig.from_env(env) == SamplingConfig(1000, 14, AutoRepair.MISSING)
    assert SamplingConfig.from_env({}) == SamplingConfig()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VERIFY_BUDGET_BYTES": "lots"}, "VERIFY_BUDGET_BYTES must be an integer"),
        ({"VERIFY_BUDGET_BYTES": "0"}, "VERIFY_BUDGET_BYTES must be 1 or more"),
        ({"VERIFY_CYCLE_NIGHTS": "0"}, "VERIFY_CYCLE_NIGHTS must be between 1 and 366"),
        ({"AUTO_REPAIR": "all"}, "AUTO_REPAIR must be off or missing"),
    ],
)
def test_bad_sampling_settings_name_their_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        SamplingConfig.from_env(env)
