"""A tar archive's entry names, read from a stream of byte chunks without holding more than a block.

Only the headers are parsed; file data is skipped chunk by chunk, so a 10 GB tarball costs the memory of
one chunk. The reader knows the three ways names are written (ustar's prefix + name, GNU's `L` long-name
entries and pax `x` headers) and refuses anything it cannot account for: a header whose checksum is wrong,
an archive that ends inside an entry, or one that ends without its end-of-archive zero block. Each of
those is a tarball that cannot be read to its end, never a short list of names that looks complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
_LONG_NAME = b"L"  # GNU: the data of this entry is the next entry's name
_LONG_LINK = b"K"  # GNU: the next entry's link target
_PAX_ENTRY = b"x"  # pax: key=value records for the next entry
_PAX_GLOBAL = b"g"  # pax: records for every later entry; `tar -t` does not list it
_GNU_SPARSE = b"S"
_META_TYPES = (_LONG_NAME, _LONG_LINK, _PAX_ENTRY, _PAX_GLOBAL)
MAX_META_BYTES = 1 << 20  # a name or pax header past 1 MiB is damage, not a name


class UnreadableTarError(ValueError):
    """The archive cannot be read to its end; the message says where and why."""


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One member as `tar -t` would list it: its name exactly as stored, as bytes."""

    name: bytes
    is_directory: bool
    size: int


class _Blocks:
    """Exact reads and skips over an iterator of chunks of any size."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._at = 0
        self.offset = 0  # bytes of the archive consumed so far, for error messages

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._buffer, self._at = chunk, 0
                return True
        return False

    def read(self, n: int) -> bytes:
        """Exactly n bytes, or fewer only at the end of the stream."""
        parts = []
        wanted = n
        while wanted:
            if self._at >= len(self._buffer) and not self._fill():
                break
            piece = self._buffer[self._at : self._at + wanted]
            self._at += len(piece)
            wanted -= len(piece)
            parts.append(piece)
        data = b"".join(parts)
        self.offset += len(data)
        return data

    def skip(self, n: int) -> int:
        """Skips up to n bytes without copying them; returns how many were skipped."""
        left = n
        while left:
            if self._at >= len(self._buffer) and not self._fill():
                break
            step = min(left, len(self._buffer) - self._at)
            self._at += step
            left -= step
        self.offset += n - left
        return n - left

    def drain(self) -> None:
        """Reads what follows the end-of-archive marker, so that the codec checks its trailer."""
        self._buffer, self._at = b"", 0
        for _ in self._chunks:
            pass


def tar_entries(chunks: Iterable[bytes]) -> Iterator[TarEntry]:
    """Every member of the (uncompressed) tar stream, in archive order.

    Raises UnreadableTarError when the stream ends early or a header is damaged. After the last entry
    the rest of the stream is read, so that a compressed stream's own end checks run too.
    """
    blocks = _Blocks(chunks)
    long_name: bytes | None = None
    pax_path: bytes | None = None
    while True:
        at = blocks.offset
        header = blocks.read(BLOCK)
        if not header:
            raise UnreadableTarError(f"the archive ends at byte {at} without its end-of-archive marker")
        if len(header) < BLOCK:
            raise UnreadableTarError(f"the archive ends inside a header at byte {at}")
        if header == _ZERO_BLOCK:
            if long_name is not None or pax_path is not None:
                raise UnreadableTarError(f"the archive ends after a long-name header at byte {at}")
            blocks.drain()
            return
        _check_sum(header, at)
        size = _number(header[124:136], at)
        kind = header[156:157]
        if kind == _GNU_SPARSE and header[482]:
            _skip_sparse_extensions(blocks)
        stored = -(-size // BLOCK) * BLOCK
        if kind in _META_TYPES:
            if size > MAX_META_BYTES:
                raise UnreadableTarError(f"a {size}-byte extended header at byte {at}")
            data = blocks.read(stored)
            if len(data) < stored:
                raise UnreadableTarError(f"the archive ends inside an extended header at byte {at}")
            if kind == _LONG_NAME:
                long_name = data[:size].split(b"\0", 1)[0]
            elif kind == _PAX_ENTRY:
                pax_path = _pax_path(data[:size], at) or pax_path
            continue
        name = pax_path if pax_path is not None else long_name
        if name is None:
            name = _field(header[0:100])
            prefix = _field(header[345:500])
            if header[257:263] == b"ustar\x00" and prefix:
                name = prefix + b"/" + name
        long_name = pax_path = None
        if blocks.skip(stored) < stored:
            raise UnreadableTarError(
                f"the archive ends inside the data of {name.decode('utf-8', 'replace')!r} (byte {at})"
            )
        yield TarEntry(name, kind == b"5" or name.endswith(b"/"), size)


def _field(raw: bytes) -> bytes:
    return raw.split(b"\0", 1)[0]


def _number(raw: bytes, at: int) -> int:
    """An octal size, or GNU's base-256 form for sizes past 8 GiB (the top bit of the first byte)."""
    if raw[0] & 0x80:
        return int.from_bytes(raw[1:], "big") | ((raw[0] & 0x7F) << (8 * (len(raw) - 1)))
    text = raw.split(b"\0", 1)[0].strip(b" ")
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise UnreadableTarError(f"a damaged header at byte {at}: size {raw!r} is not a number") from None


def _check_sum(header: bytes, at: int) -> None:
    text = header[148:156].split(b"\0", 1)[0].strip(b" ")
    try:
        recorded = int(text, 8)
    except ValueError:
        raise UnreadableTarError(f"a damaged header at byte {at}: no checksum") from None
    blanked = header[:148] + b" " * 8 + header[156:]
    if recorded == sum(blanked):
        return
    if recorded != sum(b - 256 if b > 127 else b for b in blanked):  # old tars summed signed bytes
        raise UnreadableTarError(f"a damaged header at byte {at}: its checksum does not match")


def _pax_path(records: bytes, at: int) -> bytes | None:
    """The `path` (or GNU sparse 1.0's real name) from pax records `"<len> key=value\\n"`."""
    found: dict[bytes, bytes] = {}
    rest = records
    while rest and rest.strip(b"\0"):
        length_text, _, _ = rest.partition(b" ")
        try:
            length = int(length_text)
        except ValueError:
            raise UnreadableTarError(f"a damaged pax header at byte {at}") from None
        if length <= len(length_text) or length > len(rest):
            raise UnreadableTarError(f"a damaged pax header at byte {at}")
        record, rest = rest[:length], rest[length:]
        key, _, value = record[len(length_text) + 1 :].partition(b"=")
        found[key] = value[:-1] if value.endswith(b"\n") else value
    return found.get(b"GNU.sparse.name", found.get(b"path"))


def _skip_sparse_extensions(blocks: _Blocks) -> None:
    """Old GNU sparse members continue their sparse map in extra header blocks before the data."""
    while True:
        extension = blocks.read(BLOCK)
        if len(extension) < BLOCK:
            raise UnreadableTarError("the archive ends inside a sparse header")
        if not extension[504]:
            return


def listed_name(name: bytes) -> bytes:
    """The name a listing line and a tar entry are compared by: `tar -t` prints `./a/` for a member
    stored as `./a/` and `a` for one stored as `a`, so a leading `./` and a trailing `/` do not count."""
    while name.startswith(b"./"):
        name = name[2:]
    return name.rstrip(b"/")


_ESCAPES = {b"\\": b"\\\\", b"\a": b"\\a", b"\b": b"\\b", b"\f": b"\\f", b"\n": b"\\n", b"\r": b"\\r"}
_ESCAPES |= {b"\t": b"\\t", b"\v": b"\\v"}
_UNESCAPES = {v[1:2]: k for k, v in _ESCAPES.items()}


def tar_t_line(name: bytes) -> bytes:
    """One line as GNU `tar -t` prints the name in a UTF-8 locale (quoting style `escape`): the name as
    stored, a backslash doubled, control characters as C escapes (`\\n`) or three octal digits."""
    out = bytearray()
    for byte in name:
        char = bytes((byte,))
        if char in _ESCAPES:
            out += _ESCAPES[char]
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out)


def unescape_line(line: bytes) -> bytes:
    """The stored name a `tar -t` line stands for, whatever the locale it was made in (a C locale
    writes every non-ASCII byte as octal)."""
    if b"\\" not in line:
        return line
    out = bytearray()
    i = 0
    while i < len(line):
        byte = line[i : i + 1]
        if byte == b"\\" and i + 1 < len(line):
            following = line[i + 1 : i + 2]
            octal = line[i + 1 : i + 4]
            if len(octal) == 3 and all(48 <= c <= 55 for c in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            if following in _UNESCAPES:
                out += _UNESCAPES[following]
                i += 2
                continue
        out += byte
        i += 1
    return bytes(out)
