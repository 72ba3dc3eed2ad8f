"""Which keys are backup tarballs, decided by the file name alone."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_EXTENSIONS: tuple[str, ...] = (
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.zst",
    ".tzst",
    ".tar.xz",
    ".txz",
    ".tar.bz2",
    ".tbz2",
    ".tar.lz4",
)


_TAILS = 4096  # endings remembered; past that they are forgotten and learnt again
_UNKNOWN = "/"  # no extension holds '/'


def file_name(key: str) -> str:
    return key.rpartition("/")[2]


@dataclass(frozen=True)
class TarballNaming:
    """Matches the last path segment against the extensions, case-insensitively.

    Only the file name counts, so `a.tar.gz.d/notes.txt` is not a tarball and neither is
    `x.tar.zst.sha256`. A name that is only an extension (`.tar.gz`) is not a tarball either.
    """

    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    _longest_first: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # a key's last (longest extension + 1) characters, when they hold no '/', decide its extension alone
    _tail: int = field(init=False, repr=False, compare=False)
    _by_tail: dict[str, str | None] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.extensions:
            raise ValueError("at least one tarball extension is needed")
        for ext in self.extensions:
            if not ext.startswith(".") or len(ext) < 2 or "/" in ext:
                raise ValueError(f"tarball extension {ext!r} must look like '.tar.gz'")
        lowered = tuple(sorted({e.lower() for e in self.extensions}, key=len, reverse=True))
        object.__setattr__(self, "_longest_first", lowered)
        object.__setattr__(self, "_tail", len(lowered[0]) + 1)

    def extension_of(self, key: str) -> str | None:
        """The tarball extension as written in the key, or None when the key is not a tarball.

        A sweep asks this of every key, and most keys of a folder end alike (`.tar.zst`, `.list.txt`), so
        the answer for a file name longer than every extension is remembered by the name's last characters.
        """
        tail = key[-self._tail :]
        if len(tail) < self._tail or "/" in tail:
            return self._extension_of(key)
        by_tail = self._by_tail
        known = by_tail.get(tail, _UNKNOWN)  # one read: worker threads share the naming
        if known is not _UNKNOWN:
            return known
        if len(by_tail) >= _TAILS:
            by_tail.clear()
        extension = by_tail[tail] = self._extension_of(tail)
        return extension

    @property
    def by_tail(self) -> dict[str, str | None]:
        """What `extension_of` remembers: a `tail`-character ending (no '/') -> the extension, or None."""
        return self._by_tail

    @property
    def tail(self) -> int:
        return self._tail

    def _extension_of(self, key: str) -> str | None:
        name = file_name(key)
        lowered = name.lower()
        if not lowered.endswith(self._longest_first):  # most keys of a sweep: one C call, no loop
            return None
        for ext in self._longest_first:
            if lowered.endswith(ext) and len(name) > len(ext):
                return name[-len(ext) :]
        return None

    @property
    def lowered_extensions(self) -> tuple[str, ...]:
        """The extensions in lower case, longest first."""
        return self._longest_first

    def is_tarball(self, key: str) -> bool:
        return self.extension_of(key) is not None

    def stem(self, key: str) -> str:
        """The key without its tarball extension: `b/h/snap.tgz` -> `b/h/snap`."""
        ext = self.extension_of(key)
        if ext is None:
            raise ValueError(f"{key!r} is not a tarball")
        return key[: -len(ext)]

    def last_key_for_stem(self, stem: str) -> str:
        """The greatest key, in S3 order, that a tarball with this stem can have.

        Lower-case letters sort after upper-case ones, so the lower-case spelling of the
        greatest extension bounds every spelling of every extension.
        """
        return stem + max(self._longest_first)
