"""Streaming reconciliation: listed objects in S3 key order in, one outcome per tarball and orphan out.

Every sibling key is its tarball's folder plus a name, so it sits at a fixed place in S3's key order
relative to the tarball. The reconciler keeps a tarball open only until the stream passes the last of
its sibling keys, and keeps a stem-anchored sibling open only until it passes the last key a tarball
with that stem could have. Whatever sorts in between (sub-folders, `x.tar-1`, checksum files) is
counted and dropped. Memory is therefore bounded by what is still open in the current folders, never
by the bucket.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import SentinelError
from .objects import ListedObject
from .rules import Anchor, SiblingRule
from .verdicts import Orphan, Outcome, Policy


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


_BY_KEY = Anchor.KEY  # a module constant: reading a member off the enum class costs a Python-level lookup


class Reconciler:
    """Feed objects in key order; collect outcomes as soon as they are final."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self._policy = policy
        self._now = now
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
        """`feed` for many objects at once: the sweep's per-key cost, so one call and one list per page."""
        policy, closing, close = self._policy, self._closing, self._close
        extension_of = policy.naming.extension_of
        out: list[Outcome] = []
        for obj in objects:
            key = obj.key
            if self._last_key is not None and key <= self._last_key:
                raise OutOfOrderError(f"{key!r} came after {self._last_key!r}")
            self._last_key = key
            self.objects_seen += 1
            extension = extension_of(key)
            rules = policy.rules_at(key)
            if extension is not None:
                self._open_tarball(obj, key[: -len(extension)], rules)
            for rule in rules:
                base = rule.base_of(key)
                if base is not None:
                    self._sibling_seen(obj, rule, base, out)
            while closing and closing[0][0] <= key:
                close(heapq.heappop(closing)[2], out)
        return out

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
                out.append(Orphan(obj, rule, base))
            return
        last_owner = naming.last_key_for_stem(base)
        if last_owner <= obj.key:
            if not owners:
                out.append(Orphan(obj, rule, base + ".*"))
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
            judge = self._policy.judge_listed
            out.append(judge(tarball.obj, tarball.rules, tarball.sibling_keys, tarball.found, self._now))
            return
        sibling = self._siblings.pop(key)
        if not sibling.claimed:
            out.append(Orphan(sibling.obj, sibling.rule, sibling.expected))

    # --- pausing between invocations --------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything still open, as JSON-ready data, so another invocation can carry on exactly here."""
        return {
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
    def resumed(cls, policy: Policy, now: datetime, state: Mapping[str, Any]) -> Reconciler:
        """The reconciler `state()` described; rules are found again by name in the same policy."""
        reconciler = cls(policy, now)
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
