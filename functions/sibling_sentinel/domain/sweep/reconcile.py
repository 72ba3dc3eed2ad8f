"""Streaming reconciliation: listed objects in S3 key order in, one outcome per tarball and orphan out.

Every sibling key is its tarball's folder plus a name, so it sits at a fixed place in S3's key order
relative to the tarball. The reconciler keeps a tarball open only until the stream passes the last of
its sibling keys, and keeps a stem-anchored sibling open only until it passes the last key a tarball
with that stem could have. Whatever sorts in between (sub-folders, `x.tar-1`, checksum files) is
counted and dropped. Memory is therefore bounded by what is still open in the current folders, never
by the bucket.

A reconciler can also own one key range of a sharded sweep (`KeyRange`). A range may be cut between a
tarball and its sibling (`x.tar.gz` | `x.tar.gz.d/...` | `x.tar.gz.list.txt`, or `snap.manifest.json` |
`snap.tgz`), so some questions cannot be answered from the range's own keys: a tarball whose sibling
key lies outside the range, and a sibling whose possible tarballs do. Those become *edges*, which
`settle` answers with one targeted lookup each (the exact sibling keys, as `check` does, or the
tarballs with a stem). A tarball is judged only by the range that holds it, and a sibling is an
orphan only when no tarball anywhere claims it, so the report is exactly one flat listing's whatever
the cut points.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ...errors import SentinelError
from ..core.listing import KeyRange, strictly_ascending
from ..core.objects import ListedObject, ListedPage, stamp_time
from ..core.rules import Anchor, SiblingRule
from ..core.verdicts import OkTarballs, Orphan, Outcome, Policy, fits_in_s3


class OutOfOrderError(SentinelError):
    """The input was not in strictly ascending S3 key order, so verdicts could be wrong."""


@dataclass(slots=True)
class _OpenTarball:
    obj: ListedObject
    rules: tuple[SiblingRule, ...]
    sibling_keys: tuple[str, ...]
    found: dict[str, ListedObject] = field(default_factory=dict)


@dataclass
class _OpenSibling:
    obj: ListedObject
    rule: SiblingRule
    expected: str
    claimed: bool


class EdgeLookup(Protocol):
    """Answers what a key range cannot see: objects just outside it."""

    def find(self, keys: Iterable[str]) -> Mapping[str, ListedObject]: ...

    def has_tarball_with_stem(self, stem: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class _EdgeTarball:
    entry: _OpenTarball
    ask: tuple[str, ...]  # its sibling keys outside the range


@dataclass(frozen=True, slots=True)
class _EdgeSibling:
    """An unclaimed sibling whose tarball could be outside the range: `base` for a key-anchored rule, or
    any tarball with the stem `base` for a stem-anchored one."""

    obj: ListedObject
    rule: SiblingRule
    base: str
    expected: str


_UNKNOWN = "/"  # no extension holds '/'
_BY_KEY = Anchor.KEY  # a module constant: reading a member off the enum class costs a Python-level lookup


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the fast path needs to know of one folder's rules (`Reconciler._feed_columns`).

    `pair` is the one key-anchored rule when every other rule is stem-anchored and optional (then a
    tarball followed at once by that rule's sibling can be judged from the two rows), else None.
    `suffixes` is every rule's suffix: a key that ends with none can be no rule's sibling.
    """

    rules: tuple[SiblingRule, ...]
    suffixes: tuple[str, ...]
    pair: SiblingRule | None
    stem_suffixes: tuple[str, ...]  # the other rules' suffixes, each an absent optional sibling
    check_sibling_name: bool  # whether `{tarball}{pair suffix}` could be a tarball or another rule's key

    @classmethod
    def of(cls, rules: tuple[SiblingRule, ...], extensions: tuple[str, ...]) -> _Shape:
        suffixes = tuple(r.suffix for r in rules)
        by_key = [r for r in rules if r.anchor is _BY_KEY]
        others = [r for r in rules if r.anchor is not _BY_KEY]
        if len(by_key) != 1 or any(r.required for r in others):
            return cls(rules, suffixes, None, (), True)
        pair = by_key[0].suffix
        lowered = pair.lower()
        check = any(lowered.endswith(e) or e.endswith(lowered) for e in extensions) or any(
            pair.endswith(r.suffix) or r.suffix.endswith(pair) for r in others
        )
        return cls(rules, suffixes, by_key[0], tuple(r.suffix for r in others), check)


def _absent(stem: str, key: str, shape: _Shape, after: str) -> bool:
    """Whether the tarball's stem-anchored siblings are surely absent with nothing open: each sorts before
    the tarball (so, seen, it would still be open), and inside the range (else only a lookup can tell)."""
    for suffix in shape.stem_suffixes:
        sibling = stem + suffix
        if sibling >= key or sibling <= after:
            return False
    return True


class Reconciler:
    """Feed objects in key order; collect outcomes as soon as they are final."""

    def __init__(
        self, policy: Policy, now: datetime, bounds: KeyRange | None = None, tally: bool = False
    ) -> None:
        self._policy = policy
        self._now = now
        self._tally = tally
        self._ok: list[OkTarballs] = []
        self._shapes: dict[int, _Shape] = {}
        self._bounds = bounds if bounds is not None and bounds.bounded else None
        self._edges: list[_EdgeTarball | _EdgeSibling] = []
        self._last_key: str | None = None
        self._tarballs: dict[str, _OpenTarball] = {}
        self._siblings: dict[str, _OpenSibling] = {}
        self._waiting: dict[str, list[str]] = {}  # sibling key -> open tarballs that expect it later
        self._closing: list[tuple[str, int, str]] = []  # (release key, seq, key) min-heap
        self._seq = 0
        self.objects_seen = 0

    @property
    def open_entries(self) -> int:
        """How much is held right now; the benchmark and tests watch this stay small."""
        return len(self._tarballs) + len(self._siblings)

    def feed(self, obj: ListedObject) -> list[Outcome]:
        return self.feed_page((obj,))

    def feed_page(self, objects: Iterable[ListedObject]) -> list[Outcome]:
        """`feed` for many objects at once: the sweep's per-key cost, so one call and one list per page.

        With `tally`, a `ListedPage` goes through the fast path, and the tarballs it judges ok are not
        in the outcomes: `take_ok` hands them over, to be counted (`Report.add_ok`)."""
        out: list[Outcome] = []
        if self._tally and isinstance(objects, ListedPage):
            self._feed_columns(objects, out)
            return out
        feed = self._feed
        for obj in objects:
            feed(obj, out)
        return out

    def take_ok(self) -> list[OkTarballs]:
        """The ok tarballs the fast path counted since the last take."""
        ok, self._ok = self._ok, []
        return ok

    def _feed(self, obj: ListedObject, out: list[Outcome]) -> None:
        key = obj.key
        if self._last_key is not None and key <= self._last_key:
            raise OutOfOrderError(f"{key!r} came after {self._last_key!r}")
        self._last_key = key
        self.objects_seen += 1
        policy, closing = self._policy, self._closing
        extension = policy.naming.extension_of(key)
        rules = policy.rules_at(key)
        if extension is not None:
            self._open_tarball(obj, key[: -len(extension)], rules)
        for rule in rules:
            base = rule.base_of(key)
            if base is not None:
                self._sibling_seen(obj, rule, base, out)
        while closing and closing[0][0] <= key:
            self._close(heapq.heappop(closing)[2], out)

    def _shape(self, rules: tuple[SiblingRule, ...]) -> _Shape:
        shape = self._shapes.get(id(rules))
        if shape is None or shape.rules is not rules:
            shape = _Shape.of(rules, self._policy.naming.lowered_extensions)
            self._shapes[id(rules)] = shape
        return shape

    def _feed_columns(self, page: ListedPage, out: list[Outcome]) -> None:
        """The same outcomes as `_feed` on each object, without building objects where nothing is open.

        While nothing is open (no tarball waits for a sibling, no sibling for a tarball), a key that can
        be neither a tarball nor a sibling changes nothing but the count, and a tarball followed at once
        by its one key-anchored sibling is judged from the two rows: ok goes into `take_ok` as a row
        number, anything else goes the general way (`_feed`), objects built. Canonical stamps compare as
        the times they name (`ListedPage`), so a sibling not older than its tarball is not stale.
        """
        keys = page.keys
        if not keys:
            return
        if (self._last_key is not None and keys[0] <= self._last_key) or not (
            page.ascending or strictly_ascending(keys)
        ):
            for obj in page:  # raises OutOfOrderError at the first key out of order
                self._feed(obj, out)
            return
        sizes, stamps = page.sizes, page.stamps
        policy = self._policy
        rules_at, extension_of = policy.rules_at, policy.naming.extension_of
        by_tail, tail = policy.naming.by_tail.get, policy.naming.tail
        tarballs, siblings, bounds = self._tarballs, self._siblings, self._bounds
        after = bounds.after if bounds is not None else ""
        shape_of, shapes = self._shape, self._shapes
        fixed = None if policy.scoped else shape_of(policy.rules)  # the same rules in every folder
        rows: list[int] = []
        last = len(keys) - 1
        n = fast = 0
        closing, close = self._closing, self._close
        while n <= last:
            key = keys[n]
            if fixed is None:
                rules = rules_at(key)
                shape = shapes.get(id(rules))
                if shape is None or shape.rules is not rules:
                    shape = shape_of(rules)
            else:
                shape = fixed
            extension = by_tail(key[-tail:], _UNKNOWN)  # `extension_of`'s own memory, read inline
            if extension is _UNKNOWN:
                extension = extension_of(key)
            if extension is None and key.endswith(shape.suffixes):
                self._feed(page[n], out)  # a sibling, perhaps an orphan: the general way
                n += 1
                continue
            # What was to close before this key closes now: `_feed` would close it right after this key,
            # which is a tarball or nobody's sibling, so can neither claim it nor be claimed by it.
            while closing and closing[0][0] < key:
                close(heapq.heappop(closing)[2], out)
            if tarballs or siblings:
                self._feed(page[n], out)
                n += 1
                continue
            if extension is None:
                fast += 1  # neither a tarball nor anyone's sibling: only counted
                n += 1
                continue
            if n < last and (rule := shape.pair) is not None and not key.endswith(shape.suffixes):
                sibling = key + rule.suffix
                if (
                    keys[n + 1] == sibling
                    and sizes[n + 1] >= rule.min_bytes
                    and (
                        stamps[n + 1] >= stamps[n]
                        or (stamp_time(stamps[n]) - stamp_time(stamps[n + 1])).total_seconds()
                        <= rule.stale_tolerance_s
                    )
                    and (
                        not shape.check_sibling_name
                        or (extension_of(sibling) is None and not sibling.endswith(shape.stem_suffixes))
                    )
                    and (not shape.stem_suffixes or _absent(key[: -len(extension)], key, shape, after))
                ):
                    rows.append(n)
                    fast += 2
                    n += 2
                    continue
            self._feed(page[n], out)
            n += 1
        self._last_key = keys[-1]
        self.objects_seen += fast
        self._seq += len(rows)  # one closing entry each, as `_feed` would have scheduled
        if rows:
            self._ok.append(OkTarballs(page, rows))

    def finish(self) -> list[Outcome]:
        out: list[Outcome] = []
        while self._closing:
            self._close(heapq.heappop(self._closing)[2], out)
        return out

    def _schedule(self, release: str, key: str) -> None:
        self._seq += 1
        heapq.heappush(self._closing, (release, self._seq, key))

    def _open_tarball(self, obj: ListedObject, stem: str, rules: tuple[SiblingRule, ...]) -> None:
        key = obj.key
        sibling_keys = tuple([rule.sibling_key(key, stem) for rule in rules])
        entry = _OpenTarball(obj, rules, sibling_keys)
        release = key
        for sibling_key in sibling_keys:
            earlier = self._siblings.get(sibling_key)
            if earlier is not None:
                earlier.claimed = True
                entry.found[sibling_key] = earlier.obj
            elif sibling_key > key:
                self._waiting.setdefault(sibling_key, []).append(key)
            if sibling_key > release:
                release = sibling_key
        self._tarballs[key] = entry
        self._schedule(release, key)

    def _sibling_seen(self, obj: ListedObject, rule: SiblingRule, base: str, out: list[Outcome]) -> None:
        naming = self._policy.naming
        by_key = rule.anchor is _BY_KEY
        if by_key and base not in self._tarballs and not naming.is_tarball(base):
            return  # `notes.list.txt` is just a file, not a listing of anything
        owners = self._waiting.pop(obj.key, None)
        if owners is not None:
            for owner in owners:
                self._tarballs[owner].found[obj.key] = obj
        if by_key:
            if not owners:
                self._unclaimed(obj, rule, base, base, base, out)
            return
        last_owner = naming.last_key_for_stem(base)
        if last_owner <= obj.key:
            if not owners:
                self._unclaimed(obj, rule, base, base + ".*", last_owner, out)
            return
        self._siblings[obj.key] = _OpenSibling(obj, rule, base + ".*", bool(owners))
        self._schedule(last_owner, obj.key)

    def _close(self, key: str, out: list[Outcome]) -> None:
        tarball = self._tarballs.pop(key, None)
        if tarball is not None:
            for sibling_key in tarball.sibling_keys:
                waiters = self._waiting.get(sibling_key)
                if waiters is not None:
                    waiters.remove(key)
                    if not waiters:
                        del self._waiting[sibling_key]
            bounds = self._bounds
            if bounds is not None:
                found = tarball.found
                ask = tuple(k for k in tarball.sibling_keys if k not in found and not bounds.holds(k))
                if ask:
                    self._edges.append(_EdgeTarball(tarball, ask))
                    return
            out.append(self._judge(tarball))
            return
        sibling = self._siblings.pop(key)
        if not sibling.claimed:
            stem = sibling.expected[:-2]
            self._unclaimed(
                sibling.obj,
                sibling.rule,
                stem,
                sibling.expected,
                self._policy.naming.last_key_for_stem(stem),
                out,
            )

    def _unclaimed(
        self,
        obj: ListedObject,
        rule: SiblingRule,
        base: str,
        expected: str,
        last_owner: str,
        out: list[Outcome],
    ) -> None:
        """No tarball in this stream claims the sibling: an orphan, unless one could lie outside the range
        (anywhere from `base` to `last_owner`), which only a lookup can tell."""
        bounds = self._bounds
        if bounds is not None and not (bounds.holds(base) and bounds.holds(last_owner)):
            self._edges.append(_EdgeSibling(obj, rule, base, expected))
            return
        out.append(Orphan(obj, rule, expected))

    def settle(self, lookup: EdgeLookup) -> list[Outcome]:
        """The outcomes held back at the range's edges, each answered by one lookup outside the range."""
        out: list[Outcome] = []
        edges, self._edges = self._edges, []
        for edge in edges:
            if isinstance(edge, _EdgeTarball):
                entry = edge.entry
                entry.found.update(lookup.find([k for k in edge.ask if fits_in_s3(k)]))
                out.append(self._judge(entry))
            elif edge.expected.endswith(".*"):
                if not lookup.has_tarball_with_stem(edge.base):
                    out.append(Orphan(edge.obj, edge.rule, edge.expected))
            elif edge.base not in lookup.find([edge.base]):
                out.append(Orphan(edge.obj, edge.rule, edge.expected))
        return out

    def _judge(self, tarball: _OpenTarball) -> Outcome:
        return self._policy.judge_listed(
            tarball.obj, tarball.rules, tarball.sibling_keys, tarball.found, self._now
        )

    # --- pausing between invocations --------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything still open, as JSON-ready data, so another invocation can carry on exactly here."""
        if self._edges:
            raise AssertionError("settle() the range's edges before taking its state")
        if self._ok:
            raise AssertionError("take_ok() the counted tarballs before taking the state")
        return {
            "bounds": self._bounds.to_list() if self._bounds is not None else None,
            "last_key": self._last_key,
            "objects_seen": self.objects_seen,
            "seq": self._seq,
            "tarballs": [
                [t.obj.to_row(), list(t.sibling_keys), [o.to_row() for o in t.found.values()]]
                for t in self._tarballs.values()
            ],
            "siblings": [
                [s.obj.to_row(), s.rule.name, s.expected, s.claimed] for s in self._siblings.values()
            ],
            "waiting": self._waiting,
            "closing": [list(entry) for entry in self._closing],
        }

    @classmethod
    def resumed(
        cls, policy: Policy, now: datetime, state: Mapping[str, Any], tally: bool = False
    ) -> Reconciler:
        """The reconciler `state()` described; rules are found again by name in the same policy."""
        bounds = state.get("bounds")
        reconciler = cls(policy, now, KeyRange(*bounds) if bounds else None, tally)
        reconciler._last_key = state["last_key"]
        reconciler.objects_seen = state["objects_seen"]
        reconciler._seq = state["seq"]
        for row, sibling_keys, found in state["tarballs"]:
            obj = ListedObject.from_row(row)
            entry = _OpenTarball(obj, policy.rules_at(obj.key), tuple(sibling_keys))
            entry.found.update((o.key, o) for o in map(ListedObject.from_row, found))
            reconciler._tarballs[obj.key] = entry
        for row, rule_name, expected, claimed in state["siblings"]:
            obj = ListedObject.from_row(row)
            rule = next(r for r in policy.rules_at(obj.key) if r.name == rule_name)
            reconciler._siblings[obj.key] = _OpenSibling(obj, rule, expected, claimed)
        reconciler._waiting = {k: list(v) for k, v in state["waiting"].items()}
        reconciler._closing = [(release, seq, key) for release, seq, key in state["closing"]]
        heapq.heapify(reconciler._closing)
        return reconciler


def reconcile(pages: Iterable[Iterable[ListedObject]], policy: Policy, now: datetime) -> Iterator[Outcome]:
    """Outcomes for every tarball and orphan in `pages`, however the listing was split into pages."""
    reconciler = Reconciler(policy, now)
    for page in pages:
        yield from reconciler.feed_page(page)
    yield from reconciler.finish()
