"""The streaming tar reader and decoders, on tarballs made by the system's tar and compressors."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sibling_sentinel.domain.verify.compression import (
    CorruptStreamError,
    StoredBytes,
    ZstdFrames,
    compression_of,
    decompressed,
    require_codec,
)
from sibling_sentinel.domain.verify.tar_stream import (
    UnreadableTarError,
    listed_name,
    tar_entries,
    tar_t_line,
    unescape_line,
)
from sibling_sentinel.domain.verify.verification import regenerated_listing
from sibling_sentinel.errors import ConfigError

from tar_tools import COMPRESSORS, make_tarball, make_tree, some_files, tar_t

ALL = list(COMPRESSORS)


def chunks_of(data: bytes, size: int = 4099) -> Iterator[bytes]:
    """Odd-sized chunks, so no header lines up with a chunk boundary."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def listing_of(data: bytes, compression: str) -> bytes:
    return regenerated_listing(chunks_of(data), compression)[0]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "tree", some_files())


@pytest.mark.parametrize("compression", ALL)
def test_regenerated_listing_is_what_tar_t_prints(tmp_path: Path, tree: Path, compression: str) -> None:
    # given a real tarball made by tar and the compressor's own tool
    tarball = make_tarball(tree, tmp_path / f"b{COMPRESSORS[compression][0]}", compression)

    # when its listing is regenerated from its bytes in odd-sized chunks
    listing = listing_of(tarball.read_bytes(), compression)

    # then it is byte for byte what `tar -t` prints
    assert listing == tar_t(tarball)
    assert listing.count(b"\n") == len(some_files()) + 3  # ./, ./data/, ./etc/


@pytest.mark.parametrize("tar_format", ["gnu", "pax", "ustar"])
def test_long_and_odd_names_are_read_in_every_tar_format(tmp_path: Path, tar_format: str) -> None:
    # given names past 100 bytes (GNU long names, pax path records, the ustar prefix) and odd characters
    deep = "/".join(["folder-with-a-long-name"] * 5)
    files = {f"{deep}/file-{'x' * 60}.txt": b"1", "a\\back slash.txt": b"2", "tab\there.txt": b"3"}
    tree = make_tree(tmp_path / "t", files)
    tarball = make_tarball(tree, tmp_path / "b.tar", "none", f"--format={tar_format}")

    # when it is listed from the stream
    listing = listing_of(tarball.read_bytes(), "none")

    # then it matches tar -t, escapes included
    assert listing == tar_t(tarball)
    assert b"tab\\there.txt" in listing
    assert b"a\\\\back slash.txt" in listing


def test_a_name_with_a_newline_is_escaped_as_tar_does(tmp_path: Path) -> None:
    # given a file whose name holds a newline
    tarball = make_tarball(make_tree(tmp_path / "t", {"two\nlines": b"x"}), tmp_path / "b.tar", "none")

    # when it is listed
    listing = listing_of(tarball.read_bytes(), "none")

    # then the name stays on one line, as `tar -t` writes it, and reads back to the stored name
    assert listing == tar_t(tarball)
    assert unescape_line(b"./two\\nlines") == b"./two\nlines"


@pytest.mark.parametrize("compression", ALL)
def test_a_tarball_cut_short_is_unreadable(tmp_path: Path, tree: Path, compression: str) -> None:
    # given a tarball of which only the first half was written
    data = make_tarball(tree, tmp_path / f"b{COMPRESSORS[compression][0]}", compression).read_bytes()
    cut = data[: len(data) // 2]

    # when it is read
    # then reading it to its end fails, whatever the compression
    with pytest.raises((UnreadableTarError, CorruptStreamError)):
        listing_of(cut, compression)


@pytest.mark.parametrize("compression", [c for c in ALL if c != "none"])
def test_a_compressed_tarball_missing_only_its_trailer_is_unreadable(
    tmp_path: Path, tree: Path, compression: str
) -> None:
    # given a compressed tarball whose last 8 bytes (its stream trailer or checksum) were never written
    data = make_tarball(tree, tmp_path / f"b{COMPRESSORS[compression][0]}", compression).read_bytes()

    # when it is read
    # then the decoder's own end check refuses it, though every tar entry came out whole
    with pytest.raises(CorruptStreamError):
        listing_of(data[:-8], compression)


def test_a_tar_cut_at_an_entry_boundary_has_no_end_marker() -> None:
    # given a tar stream that stops right after a whole entry, before its zero blocks
    header = _header(b"file.txt", 0)

    # when it is read
    # then the missing end-of-archive marker is named
    with pytest.raises(UnreadableTarError, match="without its end-of-archive marker"):
        list(tar_entries([header]))


def test_a_header_with_a_wrong_checksum_is_damage() -> None:
    # given a header one byte of which was flipped
    header = bytearray(_header(b"file.txt", 0))
    header[0] ^= 0x01

    # when it is read
    # then it is refused, not listed under a wrong name
    with pytest.raises(UnreadableTarError, match="checksum"):
        list(tar_entries([bytes(header), bytes(1024)]))


def test_a_size_in_gnu_base_256_is_read() -> None:
    # given a header whose size uses the base-256 form tar uses past 8 GiB
    size = 3
    raw = bytes([0x80]) + size.to_bytes(11, "big")
    header = _header(b"big.bin", 0, size_field=raw)

    # when it is read with its data
    entries = list(tar_entries([header, b"abc".ljust(512, b"\0"), bytes(1024)]))

    # then the entry has that size
    assert [(e.name, e.size) for e in entries] == [(b"big.bin", 3)]


@pytest.mark.parametrize("compression", ["gzip", "zstd", "xz"])
def test_the_wrong_compression_for_the_name_is_corrupt(tmp_path: Path, tree: Path, compression: str) -> None:
    # given a gzip tarball stored under a name that says otherwise (or a plain tar called gzip)
    actual = "none" if compression == "gzip" else "gzip"
    data = make_tarball(tree, tmp_path / "b", actual).read_bytes()

    # when it is read as its name says
    # then it is corrupt
    with pytest.raises((UnreadableTarError, CorruptStreamError)):
        listing_of(data, compression)


def test_concatenated_zstd_frames_are_one_stream(tmp_path: Path, tree: Path) -> None:
    # given a zstd tarball split over two frames (as `zstd` writes for appended output)
    whole = make_tarball(tree, tmp_path / "b.tar", "none").read_bytes()
    import zstandard

    c = zstandard.ZstdCompressor(write_checksum=True)
    data = c.compress(whole[:10000]) + c.compress(whole[10000:])

    # when it is read
    frames = ZstdFrames()
    stored = StoredBytes(chunks_of(data), frames.feed)
    entries = list(tar_entries(decompressed(stored, "zstd", frames)))

    # then every entry is there, and both frames were seen complete
    assert len(entries) == len(some_files()) + 3
    assert frames.frames == 2
    assert frames.complete


def test_the_stored_bytes_are_hashed_whatever_the_decoder_reads(tmp_path: Path, tree: Path) -> None:
    # given a gzip tarball with trailing bytes the decoder never needs
    data = make_tarball(tree, tmp_path / "b.tgz", "gzip").read_bytes()
    stored = StoredBytes(chunks_of(data))

    # when it is decompressed and drained
    for _ in decompressed(stored, "gzip"):
        pass
    stored.drain()

    # then the SHA-256 and size are those of every stored byte
    assert stored.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)


@pytest.mark.parametrize(
    ("key", "compression"),
    [("a/b.TAR.ZST", "zstd"), ("b.tgz", "gzip"), ("b.tbz2", "bzip2"), ("b.txz", "xz"), ("b.tar", "none")],
)
def test_compression_comes_from_the_extension(key: str, compression: str) -> None:
    assert compression_of(key) == compression


def test_an_unknown_extension_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="extension"):
        compression_of("b.tar.br")


@pytest.mark.parametrize(("compression", "module"), [("zstd", "zstandard"), ("lz4", "lz4.frame")])
def test_a_missing_codec_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, compression: str, module: str
) -> None:
    # given the package is not installed
    monkeypatch.setitem(sys.modules, module, None)

    # when a tarball of that compression is to be verified
    # then one line says which package, and how to get it
    with pytest.raises(ConfigError, match=r"needs the .* package: pip install 'sibling-sentinel\[verify\]'"):
        require_codec(compression)


@pytest.mark.parametrize(
    ("stored", "listed"),
    [(b"./a/", b"a"), (b"a/b", b"a/b"), (b"././c", b"c"), (b"./", b"")],
)
def test_listed_names_drop_dot_slash_and_trailing_slash(stored: bytes, listed: bytes) -> None:
    assert listed_name(stored) == listed


def test_a_c_locale_listing_reads_back_to_the_utf8_name() -> None:
    # given a line written by `tar -t` in a C locale, which writes non-ASCII bytes in octal
    line = b"caf\\303\\251.txt"

    # when it is read back
    # then it is the stored UTF-8 name
    assert unescape_line(line) == "café.txt".encode()
    assert tar_t_line("café.txt".encode()) == "café.txt".encode()


def _header(name: bytes, size: int, size_field: bytes | None = None) -> bytes:
    h = bytearray(512)
    h[0 : len(name)] = name
    h[100:108] = b"0000644\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def test_a_skippable_zstd_frame_is_walked_past(tmp_path: Path, tree: Path) -> None:
    # given a zstd tarball preceded by a skippable frame (as some tools write metadata)
    import zstandard

    whole = make_tarball(tree, tmp_path / "b.tar", "none").read_bytes()
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"hello"
    data = skippable + zstandard.ZstdCompressor().compress(whole)

    # when its frames are walked
    frames = ZstdFrames()
    for chunk in chunks_of(data, 7):
        frames.feed(chunk)

    # then both frames are complete
    assert frames.frames == 2
    assert frames.complete


def test_bytes_that_are_not_zstd_are_refused_by_the_frame_walker() -> None:
    with pytest.raises(CorruptStreamError, match="not a zstd frame"):
        ZstdFrames().feed(b"\x1f\x8b\x08\x00 not zstd")
