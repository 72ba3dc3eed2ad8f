import pytest

from sibling_sentinel.domain.core.tarballs import DEFAULT_EXTENSIONS, TarballNaming

NAMING = TarballNaming()


@pytest.mark.parametrize(
    "key",
    [
        "backups/h/2026-11-22.tar",
        "backups/h/db.tar.gz",
        "backups/h/db.tgz",
        "backups/h/db.tar.zst",
        "backups/h/db.tzst",
        "backups/h/db.tar.xz",
        "backups/h/db.txz",
        "backups/h/db.tar.bz2",
        "backups/h/db.tbz2",
        "backups/h/db.tar.lz4",
        "backups/h/CAPS.TAR.GZ",
        "backups/h/db dump+v2 100%.tgz",
        "backups/h/résumé & <notes>.tar.xz",
        "top-level.tar",
    ],
)
def test_file_names_with_a_tarball_extension_are_tarballs(key: str) -> None:
    # given a key whose file name ends with a tarball extension
    # when it is classified
    # then it is a tarball
    assert NAMING.is_tarball(key)


@pytest.mark.parametrize(
    "key",
    [
        "backups/h/x.tar.zst.sha256",
        "backups/h/a.tar.gz.d/notes.txt",
        "backups/h/a.tar.gz.d/",
        "backups/h/x.tar.list.txt",
        "backups/h/snap.manifest.json",
        "backups/h/.tar.gz",
        "backups/h/notes.txt",
        "backups/h/x.tar-1",
        "backups/h/x.targz",
    ],
)
def test_other_file_names_are_not_tarballs(key: str) -> None:
    # given a key whose file name does not end with a tarball extension (folders do not count)
    # when it is classified
    # then it is not a tarball
    assert not NAMING.is_tarball(key)


def test_stem_strips_the_longest_matching_extension() -> None:
    # given tarballs whose extensions overlap (.tar and .tar.gz)
    # when their stems are taken
    # then the longest extension is removed, in the case the key was written in
    assert NAMING.stem("b/h/snap.tar.gz") == "b/h/snap"
    assert NAMING.stem("b/h/snap.tar") == "b/h/snap"
    assert NAMING.stem("b/h/SNAP.TGZ") == "b/h/SNAP"


def test_stem_of_a_non_tarball_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a tarball"):
        NAMING.stem("b/h/notes.txt")


def test_extensions_are_configurable() -> None:
    # given a naming that only knows .dump
    naming = TarballNaming((".dump",))
    # then .dump files are tarballs and .tar files are not
    assert naming.is_tarball("b/h/x.dump")
    assert not naming.is_tarball("b/h/x.tar")


@pytest.mark.parametrize("bad", [(), ("tar",), (".",), ("./x",)])
def test_malformed_extension_lists_are_rejected(bad: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="extension"):
        TarballNaming(bad)


def test_last_key_for_stem_bounds_every_spelling_of_every_extension() -> None:
    # given a stem
    stem = "b/h/snap"
    bound = NAMING.last_key_for_stem(stem)
    # then every tarball key with that stem, in any case, sorts at or before the bound
    for ext in DEFAULT_EXTENSIONS:
        assert stem + ext <= bound
        assert stem + ext.upper() <= bound


def test_remembered_endings_give_the_same_answer_as_reading_each_name() -> None:
    # given keys whose endings repeat, short names, names that are only an extension, '/' near the end,
    # and more distinct endings than are remembered
    naming = TarballNaming()
    fresh = TarballNaming()
    names = ["x.tar.zst", ".tar.zst", "ab.TGZ", "a.tar.gz.d/n", "h/.tgz", "q.tar.zst.list.txt", "tar"]
    keys = [f"b/h{n % 7}/{n:06d}{name}" for n in range(200) for name in names] + names
    keys += [f"b/{n:09d}.tar" for n in range(5000)]

    # when each is asked twice, of a naming that remembers and of one asked only once per key
    # then the answers agree with reading the name itself, every time
    for key in keys + keys:
        assert naming.extension_of(key) == fresh._extension_of(key), key
