"""Decompressing a tarball's stored bytes as they stream, by its extension, in bounded memory.

gzip, bzip2 and xz come from the standard library; zstd and lz4 from the `zstandard` and `lz4`
packages (the `verify` extra), imported only when a tarball needs them. Every decoder is read through
a bounded `read(n)`, so a run of zeros that compresses a thousandfold costs one read's worth of memory,
not its decompressed size. zstandard's reader stops quietly at the end of a cut-short stream, so its
frames are also walked here, and a stream that ends inside a frame is refused like any other.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from ...errors import ConfigError

READ_SIZE = 256 * 1024

_CODECS: dict[str, str] = {
    ".tar": "none",
    ".tar.gz": "gzip",
    ".tgz": "gzip",
    ".tar.bz2": "bzip2",
    ".tbz2": "bzip2",
    ".tar.xz": "xz",
    ".txz": "xz",
    ".tar.zst": "zstd",
    ".tzst": "zstd",
    ".tar.lz4": "lz4",
}
_EXTRA = {"zstd": "zstandard", "lz4": "lz4"}


class CorruptStreamError(ValueError):
    """The compressed stream is cut short, damaged, or not in the format its name says."""


def compression_of(key: str) -> str:
    """`gzip`, `bzip2`, `xz`, `zstd`, `lz4` or `none`, from the key's extension (any case)."""
    lowered = key.lower()
    for ext in sorted(_CODECS, key=len, reverse=True):
        if lowered.endswith(ext):
            return _CODECS[ext]
    known = ", ".join(_CODECS)
    raise ConfigError(f"cannot verify {key!r}: its extension is none of {known}")


def require_codec(compression: str) -> None:
    """Fails before any byte is read when the package a compression needs is not installed."""
    if compression == "zstd":
        _zstandard()
    elif compression == "lz4":
        _lz4_frame()


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise ConfigError(_missing("zstd")) from None
    return zstandard


def _lz4_frame() -> Any:
    try:
        import lz4.frame  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(_missing("lz4")) from None
    return lz4.frame


def _missing(compression: str) -> str:
    return (
        f"verifying a {compression} tarball needs the {_EXTRA[compression]} package: "
        "pip install 'sibling-sentinel[verify]'"
    )


class StoredBytes(io.RawIOBase):
    """The object's bytes as stored, read from chunks: counted and hashed (SHA-256) on the way through,
    so the checksum covers every byte the GET returned, whatever the decoder makes of them."""

    def __init__(self, chunks: Iterable[bytes], observe: Callable[[bytes], None] | None = None) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self._observe = observe
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._take(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _take(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.size += len(chunk)
        if self._observe is not None:
            self._observe(chunk)
        self._pending = memoryview(chunk)

    def drain(self) -> None:
        """Reads (and hashes) whatever the decoder left unread."""
        self._pending = memoryview(b"")
        for chunk in self._chunks:
            self._take(chunk)
        self._pending = memoryview(b"")


def decompressed(
    stored: StoredBytes, compression: str, zstd_frames: ZstdFrames | None = None
) -> Iterator[bytes]:
    """The tar stream inside `stored`, in chunks of at most READ_SIZE bytes.

    Raises CorruptStreamError when the decoder finds the stream damaged or cut short.
    """
    reader = _reader(stored, compression)
    try:
        while True:
            chunk = reader.read(READ_SIZE)
            if not chunk:
                break
            yield chunk
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError, RuntimeError) as e:
        if isinstance(e, CorruptStreamError):
            raise
        raise CorruptStreamError(f"the {compression} stream cannot be read: {_reason(e)}") from None
    except Exception as e:
        if type(e).__name__ == "ZstdError":  # zstandard's own error type, imported only when needed
            raise CorruptStreamError(f"the zstd stream cannot be read: {e}") from None
        raise
    if zstd_frames is not None and not zstd_frames.complete:
        raise CorruptStreamError(f"the zstd stream ends inside a frame ({zstd_frames.problem})")


def _reason(e: BaseException) -> str:
    return str(e) or type(e).__name__


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _reader(stored: StoredBytes, compression: str) -> _Readable:
    raw = io.BufferedReader(stored, READ_SIZE)
    if compression == "none":
        return raw
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "bzip2":
        return bz2.BZ2File(raw)
    if compression == "xz":
        return lzma.LZMAFile(raw)
    if compression == "zstd":
        reader: _Readable = _zstandard().ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return reader
    if compression == "lz4":
        frames: _Readable = _lz4_frame().LZ4FrameFile(raw)
        return frames
    raise ConfigError(f"no decoder for compression {compression!r}")


_ZSTD_MAGIC = 0xFD2FB528
_SKIPPABLE = 0x184D2A50  # and the 15 values after it


class ZstdFrames:
    """Walks zstd frame and block headers over the stored bytes (RFC 8878, section 3.1), so that a
    stream that stops inside a frame is known to have stopped early. Block contents are skipped."""

    def __init__(self) -> None:
        self._head = b""
        self._need = 4  # bytes of header wanted before the next step
        self._step: Callable[[bytes], None] = self._magic
        self._skip = 0
        self._checksum = False
        self.frames = 0
        self.problem = "no frame at all"

    @property
    def complete(self) -> bool:
        return self.frames > 0 and self._step == self._magic and not self._head and not self._skip

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                continue
            take = self._need - len(self._head)
            self._head += bytes(view[:take])
            view = view[take:]
            if len(self._head) == self._need:
                head, self._head = self._head, b""
                self._step(head)

    def _expect(self, n: int, step: Callable[[bytes], None]) -> None:
        self._need, self._step = n, step

    def _magic(self, head: bytes) -> None:
        magic = int.from_bytes(head, "little")
        if magic == _ZSTD_MAGIC:
            self.problem = "inside a frame header"
            self._expect(1, self._descriptor)
        elif magic & 0xFFFFFFF0 == _SKIPPABLE:
            self.problem = "inside a skippable frame"
            self._expect(4, self._skippable)
        else:
            raise CorruptStreamError(f"not a zstd frame (magic {head.hex()})")

    def _skippable(self, head: bytes) -> None:
        self._skip = int.from_bytes(head, "little")
        self._frame_done()

    def _descriptor(self, head: bytes) -> None:
        d = head[0]
        single_segment = bool(d & 0x20)
        self._checksum = bool(d & 0x04)
        fcs = (1 if single_segment else 0, 2, 4, 8)[d >> 6]
        dictionary = (0, 1, 2, 4)[d & 0x03]
        rest = (0 if single_segment else 1) + dictionary + fcs
        if rest:
            self._expect(rest, lambda _: self._expect(3, self._block))
        else:
            self._expect(3, self._block)
        self.problem = "inside a block"

    def _block(self, head: bytes) -> None:
        value = int.from_bytes(head, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == 3:
            raise CorruptStreamError("a zstd block of the reserved type")
        self._skip = 1 if kind == 1 else size
        if not last:
            return
        if self._checksum:
            self._expect(4, lambda _: self._frame_done())
            self.problem = "before the frame's checksum"
        else:
            self._frame_done()

    def _frame_done(self) -> None:
        self.frames += 1
        self.problem = "inside a frame"
        self._expect(4, self._magic)
