"""What a listing page must be before the sweep believes it: every invariant in one place.

A sweep that trusts a server's pages can be blind without knowing it: a page that says it is
truncated but gives no token ends the listing early, a page that repeats counts keys twice, a key
outside the prefix is judged against the wrong folder. S3 keeps these rules; other S3 servers and
proxies in front of them do not always. `PageCheck` holds one listing's state and refuses, with a
`ListingError` that names the endpoint and what it did, any page that breaks them:

1. `IsTruncated` with no continuation token (the rest of the listing could not be asked for);
2. a continuation token seen before in the same listing (the server would loop);
3. a key or CommonPrefix that does not strictly ascend, within a page and across pages (a page that
   repeats, or goes backwards, breaks this);
4. a key or CommonPrefix outside the requested prefix, or not after the requested `StartAfter`;
5. a CommonPrefix that does not end with the delimiter right after the prefix's own part;
6. too many empty truncated pages in a row (a server that never moves on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from ...errors import SentinelError

MAX_EMPTY_PAGES = 100


def strictly_ascending(names: Sequence[str]) -> bool:
    """Whether each name sorts after the one before it.

    A sorted copy equal to the names (timsort finds the one ascending run in a single pass, comparing
    strings without a Python call each) and no name twice: about a third of the time of comparing each
    pair through `str.__lt__`, on every page of a sweep."""
    ordered = sorted(names)
    same = ordered == (names if isinstance(names, list) else list(names))
    return same and len(set(ordered)) == len(ordered)


class ListingError(SentinelError):
    """A listing page broke an invariant: what the sweep saw is not the whole prefix."""


@dataclass
class PageCheck:
    """One listing's invariants; call `check` on every page in the order they came."""

    endpoint: str
    bucket: str
    prefix: str
    start_after: str = ""
    delimiter: str = ""
    _last: str | None = field(default=None, init=False)
    _tokens: set[str] = field(default_factory=set, init=False)
    _pages: int = field(default=0, init=False)
    _empty_run: int = field(default=0, init=False)

    def _fail(self, what: str) -> ListingError:
        where = f"s3://{self.bucket}/{self.prefix}"
        after = f" after {self.start_after!r}" if self.start_after else ""
        return ListingError(
            f"the S3 endpoint {self.endpoint} broke the listing of {where}{after} on page "
            f"{self._pages}: {what}; the sweep did not see the whole prefix"
        )

    def check(self, keys: Sequence[str], prefixes: Sequence[str], truncated: bool, token: str | None) -> None:
        """Raises `ListingError` for a page that breaks any rule above; the page's keys are decoded."""
        self._pages += 1
        if truncated and not token:
            raise self._fail("IsTruncated is true but there is no NextContinuationToken")
        if token:
            if token in self._tokens:
                raise self._fail(f"continuation token {token[:40]!r} came back a second time")
            self._tokens.add(token)
        # Ascending names between a first and a last that both start with the prefix all start with it,
        # so only the ends are checked against the prefix and StartAfter; the order of every name is.
        for kind, names in (("key", keys), ("CommonPrefix", prefixes)):
            if not names:
                continue
            self._inside(kind, names[0])
            self._inside(kind, names[-1])
            if not strictly_ascending(names):
                before, after = next((a, b) for a, b in pairwise(names) if b <= a)
                raise self._fail(f"{kind} {after!r} does not come after {before!r}")
        for common in prefixes:
            rest = common[len(self.prefix) :]
            if not self.delimiter or not rest.endswith(self.delimiter) or self.delimiter in rest[:-1]:
                raise self._fail(f"CommonPrefix {common!r} is not one folder level under the prefix")
        first = min([*keys[:1], *prefixes[:1]]) if keys or prefixes else None
        if first is not None and self._last is not None and first <= self._last:
            raise self._fail(f"{first!r} does not come after the previous page's last {self._last!r}")
        if first is not None:
            self._last = max([*keys[-1:], *prefixes[-1:]])
            self._empty_run = 0
        elif truncated:
            self._empty_run += 1
            if self._empty_run > MAX_EMPTY_PAGES:
                raise self._fail(f"more than {MAX_EMPTY_PAGES} empty truncated pages in a row")

    def _inside(self, kind: str, name: str) -> None:
        if not name.startswith(self.prefix):
            raise self._fail(f"{kind} {name!r} is outside the prefix {self.prefix!r}")
        if self.start_after and name <= self.start_after:
            raise self._fail(f"{kind} {name!r} is not after StartAfter {self.start_after!r}")


@dataclass(frozen=True, slots=True)
class KeyRange:
    """The keys after `after` up to and including `upto`: `StartAfter` is S3's own exclusive bound, so a
    range starts exactly where the one before it ends, and ranges cut at any points cover a prefix
    with no gap and no overlap, whatever a server's folders say. "" and None: no bound."""

    after: str = ""
    upto: str | None = None

    def holds(self, key: str) -> bool:
        return key > self.after and (self.upto is None or key <= self.upto)

    @property
    def bounded(self) -> bool:
        return bool(self.after) or self.upto is not None

    def to_list(self) -> list[str | None]:
        return [self.after, self.upto]
