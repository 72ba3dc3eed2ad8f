"""Every listing page is checked before it is believed: one test per rule in domain/core/listing.py."""

from __future__ import annotations

import pytest

from sibling_sentinel.domain.core.listing import MAX_EMPTY_PAGES, ListingError, PageCheck, strictly_ascending

P = "backups/"


def check(start_after: str = "", delimiter: str = "") -> PageCheck:
    return PageCheck("http://127.0.0.1:9000", "b", P, start_after, delimiter)


def test_pages_that_keep_every_rule_pass() -> None:
    # given a listing of two pages with keys and folders in key order
    pages = check(delimiter="/")
    # when both are checked
    pages.check([P + "a.tar"], [P + "b/"], truncated=True, token="t1")
    pages.check([P + "c.tar"], [P + "d/"], truncated=False, token=None)
    # then nothing is raised (the assertion is that no ListingError escaped)


def test_truncated_without_a_continuation_token_is_an_error_naming_the_endpoint() -> None:
    # given a page that says there is more but gives no way to ask for it
    # when checked
    # then it is an error that names the endpoint, the listing and what the server did
    with pytest.raises(ListingError, match=r"http://127\.0\.0\.1:9000.*s3://b/backups/.*IsTruncated"):
        check().check([P + "a.tar"], [], truncated=True, token=None)


def test_a_continuation_token_that_comes_back_is_an_error() -> None:
    pages = check()
    pages.check([P + "a"], [], truncated=True, token="same")
    with pytest.raises(ListingError, match="second time"):
        pages.check([P + "b"], [], truncated=True, token="same")


def test_a_page_that_repeats_the_previous_one_is_an_error() -> None:
    # given a page of folders, then the same page again under a fresh token
    pages = check(delimiter="/")
    pages.check([], [P + "a/", P + "b/"], truncated=True, token="t1")
    # when the repeat is checked
    # then it is an error: its first folder does not come after the last one seen
    with pytest.raises(ListingError, match="does not come after the previous page"):
        pages.check([], [P + "a/", P + "b/"], truncated=True, token="t2")


def test_keys_that_go_backwards_within_a_page_are_an_error() -> None:
    with pytest.raises(ListingError, match="does not come after"):
        check().check([P + "b", P + "a"], [], truncated=False, token=None)


def test_a_key_outside_the_prefix_is_an_error() -> None:
    with pytest.raises(ListingError, match="outside the prefix"):
        check().check(["other/a.tar"], [], truncated=False, token=None)


def test_a_key_not_after_start_after_is_an_error() -> None:
    with pytest.raises(ListingError, match="not after StartAfter"):
        check(start_after=P + "m").check([P + "a"], [], truncated=False, token=None)


def test_a_common_prefix_deeper_than_one_folder_is_an_error() -> None:
    with pytest.raises(ListingError, match="one folder level"):
        check(delimiter="/").check([], [P + "a/b/"], truncated=False, token=None)


def test_a_common_prefix_without_a_delimiter_is_an_error() -> None:
    with pytest.raises(ListingError, match="one folder level"):
        check().check([], [P + "a/"], truncated=False, token=None)


def test_a_server_that_never_moves_on_is_an_error() -> None:
    # given a server that answers empty truncated pages with ever new tokens
    pages = check()
    for n in range(MAX_EMPTY_PAGES):
        pages.check([], [], truncated=True, token=f"t{n}")
    # when one more comes
    # then the listing is refused instead of looping for ever
    with pytest.raises(ListingError, match="empty truncated pages"):
        pages.check([], [], truncated=True, token="last")


@pytest.mark.parametrize(
    ("names", "ascending"),
    [
        ([], True),
        (["a"], True),
        (["a", "a b", "a+b", "a/b", "ab", "résumé", "日本"], True),
        (("a", "b", "c"), True),  # any sequence, not only a list
        (["a", "b", "b", "c"], False),  # the same name twice
        (["a", "c", "b"], False),
        (["b", "a"], False),
    ],
)
def test_names_ascend_only_when_each_sorts_after_the_one_before(names: list[str], ascending: bool) -> None:
    # given names in some order
    # when asked whether they strictly ascend
    # then only names each greater than the last do
    assert strictly_ascending(names) is ascending
