"""Choosing the backup to restore: newest valid and compatible, by created_at then key, failing closed."""

import pytest

from sibling_sentinel.config import Config
from sibling_sentinel.domain.manifests.inspection import ManifestInspector, ManifestReads
from sibling_sentinel.domain.restore.restore import RestoreChoice, RestoreSearch, Standing
from sibling_sentinel.errors import ConfigError

from fakes import FakeBucket, FakeClock, SerialPool, manifest_body, obj

FOLDER = "backups/corpus/"


def backups(*specs: tuple[str, int | None, str]) -> FakeBucket:
    """(name, corpus_format_version or None for no manifest, created_at) for each backup in FOLDER."""
    bucket = FakeBucket()
    for name, version, created_at in specs:
        bucket.objects[FOLDER + name + ".tgz"] = obj(FOLDER + name + ".tgz", size=5000)
        if version is not None:
            body = manifest_body(name + ".tgz", corpus_format_version=version, created_at=created_at)
            bucket.put(FOLDER + name + ".manifest.json", body)
    return bucket


def search(bucket: FakeBucket) -> RestoreSearch:
    reads = ManifestReads(ManifestInspector(bucket), SerialPool(), 4)
    return RestoreSearch(bucket, reads, Config().restore_policy(), FakeClock())


def newest(bucket: FakeBucket, *supports: int) -> RestoreChoice:
    return search(bucket).newest("bkt", FOLDER, frozenset(supports))


def test_the_newest_compatible_backup_wins() -> None:
    # given three backups of format 3, written on three days
    bucket = backups(
        ("a", 3, "2026-11-18T00:00:00Z"), ("b", 3, "2026-11-20T00:00:00Z"), ("c", 3, "2026-11-19T00:00:00Z")
    )
    # when a reader of format 3 asks
    choice = newest(bucket, 3)
    # then the newest by created_at is chosen, and the others are passed over as not the newest
    assert choice.chosen is not None
    assert choice.chosen.key == FOLDER + "b.tgz"
    assert [(c.key, c.standing) for c in choice.passed_over] == [
        (FOLDER + "c.tgz", Standing.NOT_NEWEST),
        (FOLDER + "a.tgz", Standing.NOT_NEWEST),
    ]


def test_a_newer_backup_with_an_unsupported_format_version_is_skipped() -> None:
    # given yesterday's backup in format 3 and today's in format 4
    bucket = backups(("old", 3, "2026-11-20T00:00:00Z"), ("new", 4, "2026-11-21T00:00:00Z"))
    # when a reader that supports only 3 asks
    choice = newest(bucket, 3)
    # then yesterday's is chosen, and today's is passed over for its format version
    assert choice.chosen is not None
    assert choice.chosen.key == FOLDER + "old.tgz"
    [skipped] = choice.passed_over
    assert skipped.standing is Standing.UNSUPPORTED_FORMAT_VERSION
    assert skipped.reason == "corpus_format_version 4 is not one the reader supports (3)"


def test_every_candidate_incompatible_fails_closed() -> None:
    # given only backups in formats 4 and 5
    bucket = backups(("a", 4, "2026-11-20T00:00:00Z"), ("b", 5, "2026-11-21T00:00:00Z"))
    # when a reader of format 3 asks
    choice = newest(bucket, 3)
    # then nothing is chosen, and the refusal names the count and the newest candidate's reason
    assert choice.chosen is None
    assert "2 unsupported format version" in choice.refusal()
    assert "newest backups/corpus/b.tgz: corpus_format_version 5" in choice.refusal()
    assert choice.to_dict("bkt")["chosen"] is None


def test_a_tie_on_created_at_is_broken_by_the_greater_key() -> None:
    # given two backups with the same created_at
    same = "2026-11-20T00:00:00Z"
    bucket = backups(("2026-11-20-a", 3, same), ("2026-11-20-b", 3, same))
    # then the one whose key sorts last wins, every time
    choice = newest(bucket, 3)
    assert choice.chosen is not None
    assert choice.chosen.key == FOLDER + "2026-11-20-b.tgz"


def test_created_at_orders_by_instant_whatever_the_offset() -> None:
    # given a backup at 01:00+02:00 (23:00Z the day before) and one at 00:00Z
    bucket = backups(("east", 3, "2026-11-21T01:00:00+02:00"), ("utc", 3, "2026-11-21T00:00:00Z"))
    choice = newest(bucket, 3)
    assert choice.chosen is not None
    assert choice.chosen.key == FOLDER + "utc.tgz"


def test_a_backup_without_a_manifest_or_with_an_invalid_one_is_passed_over_with_the_reason() -> None:
    # given a valid old backup, a newer one with no manifest and a newer one whose manifest is not JSON
    bucket = backups(("a", 3, "2026-11-18T00:00:00Z"), ("b", None, ""))
    bucket.objects[FOLDER + "c.tgz"] = obj(FOLDER + "c.tgz", size=5000)
    bucket.put(FOLDER + "c.manifest.json", b"{not json}")
    # when chosen
    choice = newest(bucket, 3)
    # then the valid one wins and the others say why not
    assert choice.chosen is not None
    assert choice.chosen.key == FOLDER + "a.tgz"
    standings = {c.key: (c.standing, c.reason) for c in choice.passed_over}
    assert standings[FOLDER + "b.tgz"] == (Standing.SIBLING_MISSING, "no manifest sibling")
    assert standings[FOLDER + "c.tgz"][0] is Standing.INVALID_MANIFEST
    assert "not JSON" in standings[FOLDER + "c.tgz"][1]


def test_no_tarball_at_all_fails_closed() -> None:
    choice = newest(FakeBucket(), 3)
    assert choice.chosen is None
    assert choice.refusal() == "no backup tarball under s3://bkt/backups/corpus/"


def test_the_json_holds_the_chosen_manifest_and_every_candidate_passed_over() -> None:
    bucket = backups(("a", 3, "2026-11-18T00:00:00Z"), ("b", 4, "2026-11-19T00:00:00Z"))
    body = newest(bucket, 3).to_dict("bkt")
    assert body["chosen"]["uri"] == "s3://bkt/backups/corpus/a.tgz"
    assert body["chosen"]["manifest"]["corpus_format_version"] == 3
    assert [(c["key"], c["standing"]) for c in body["passed_over"]] == [
        (FOLDER + "b.tgz", "unsupported_format_version")
    ]


def test_a_pinned_backup_that_qualifies_is_chosen_alone() -> None:
    bucket = backups(("a", 3, "2026-11-18T00:00:00Z"), ("b", 3, "2026-11-19T00:00:00Z"))
    choice = search(bucket).pinned(bucket, "bkt", FOLDER + "a.tgz", frozenset({3}))
    assert choice.chosen is not None
    assert (choice.chosen.key, choice.passed_over) == (FOLDER + "a.tgz", ())


def test_a_pinned_backup_that_does_not_qualify_explains_why() -> None:
    bucket = backups(("a", 4, "2026-11-18T00:00:00Z"))
    choice = search(bucket).pinned(bucket, "bkt", FOLDER + "a.tgz", frozenset({3}))
    assert choice.chosen is None
    assert choice.refusal() == (
        "pinned backup s3://bkt/backups/corpus/a.tgz is not restorable: unsupported_format_version: "
        "corpus_format_version 4 is not one the reader supports (3)"
    )


def test_a_pin_that_is_not_a_tarball_is_a_usage_error() -> None:
    bucket = backups(("a", 3, "2026-11-18T00:00:00Z"))
    with pytest.raises(ConfigError, match="is not a tarball"):
        search(bucket).pinned(bucket, "bkt", FOLDER + "a.manifest.json", frozenset({3}))


def test_a_pinned_backup_without_a_manifest_is_not_restorable() -> None:
    bucket = backups(("a", None, ""))
    choice = search(bucket).pinned(bucket, "bkt", FOLDER + "a.tgz", frozenset({3}))
    assert choice.chosen is None
    assert choice.candidates[0].standing is Standing.SIBLING_MISSING
