"""The S3 adapter against moto's in-process S3: paging, odd keys, and botocore failures mapped to ours.

Failures are injected with a `before-send` hook that answers in place of S3, so they go through
botocore's real error parsing and retry logic (a Stubber would bypass both).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from moto import mock_aws

from sibling_sentinel.adapters import list_page
from sibling_sentinel.adapters.errors import translate
from sibling_sentinel.adapters.s3 import S3Lister, S3Objects
from sibling_sentinel.cli.demo import backdate
from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.objects import ListedPage
from sibling_sentinel.domain.sweep.report import Report
from sibling_sentinel.domain.sweep.sweep import Sweep
from sibling_sentinel.errors import AccessDeniedError, BucketNotFoundError, StorageError, ThrottledError

from fakes import essence
from stack import Body, answer_with

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "adapter-test"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# Standard-mode retries, kept few; in a botocore Config `max_attempts` counts the retries after the first try.
FEW_RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 2})

ODD_KEYS = (
    "backups/odd/db dump v2.tar",
    "backups/odd/a+b.tar",
    "backups/odd/100%.tar",
    "backups/odd/literal%2Bplus.tar",
    "backups/odd/%%2B+ %20.tar",
    "backups/odd/résumé.tar.gz",
    "backups/odd/日本語のバックアップ.tar",
    "backups/odd/emoji-\U0001f600.tar",
    "backups/odd/notes & <markup> \"quoted\" 'single'.tar",
    "backups/odd/" + "k" * (1024 - len("backups/odd/") - len(".tar")) + ".tar",  # S3's longest: 1,024 bytes
)


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", config=FEW_RETRIES)
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(client: S3Client, key: str, body: bytes = b"x") -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=body)


def listed_keys(client: S3Client, prefix: str, page_size: int = 1000) -> list[str]:
    return [o.key for page in S3Lister(client, page_size=page_size).pages(BUCKET, prefix) for o in page]


# -- listing ---------------------------------------------------------------------------------------------


def test_pages_the_lister_has_checked_are_marked_as_ascending(s3: S3Client) -> None:
    # given keys under the prefix, in more than one page
    for i in range(5):
        put(s3, f"backups/h/{i}.tar")

    # when they are listed
    pages = list(S3Lister(s3, page_size=2).pages(BUCKET, "backups/"))

    # then every page was read into columns and is marked as checked, so the reconciler does not check again
    assert [len(p) for p in pages] == [2, 2, 1]
    assert all(isinstance(p, ListedPage) and p.ascending for p in pages)


def test_lister_pages_through_more_than_1000_keys_in_key_order_with_their_metadata(s3: S3Client) -> None:
    # given 2,500 keys under the prefix, uploaded out of order, each with its own size and age
    keys = [f"backups/host-{i % 7}/{i:05d}.tar" for i in range(2500)]
    bodies = {key: b"x" * (i % 17) for i, key in enumerate(keys)}
    ages = {key: i for i, key in enumerate(keys)}
    shuffled = list(keys)
    random.Random(20261122).shuffle(shuffled)
    for key in shuffled:
        put(s3, key, bodies[key])
    backdate(BUCKET, ages, NOW)

    # when the prefix is listed a thousand keys a page
    pages = list(S3Lister(s3, page_size=1000).pages(BUCKET, "backups/"))

    # then every key comes back once, in S3 key order, over three pages, with its size, etag and time
    assert [len(page) for page in pages] == [1000, 1000, 500]
    listed = [o for page in pages for o in page]
    assert [o.key for o in listed] == sorted(keys)
    for o in listed:
        assert o.size == len(bodies[o.key])
        assert o.etag == hashlib.md5(bodies[o.key], usedforsecurity=False).hexdigest()
        assert o.last_modified == NOW - timedelta(seconds=ages[o.key])


def test_lister_lists_only_keys_under_the_prefix_folder(s3: S3Client) -> None:
    # given keys in the prefix folder and in a sibling folder that shares its first letters
    put(s3, "backups/alpha/a.tar")
    put(s3, "backups/beta/b.tar")
    put(s3, "backups-old/alpha/old.tar")
    put(s3, "backups-old/beta/older.tar")

    # when the `backups/` prefix is listed
    keys = listed_keys(s3, "backups/")

    # then nothing from `backups-old/` is listed
    assert keys == ["backups/alpha/a.tar", "backups/beta/b.tar"]


def test_lister_returns_no_objects_for_an_empty_prefix(s3: S3Client) -> None:
    # given a bucket with nothing under the prefix
    put(s3, "elsewhere/a.tar")

    # when the prefix is listed
    pages = list(S3Lister(s3).pages(BUCKET, "backups/"))

    # then no objects come back
    assert [o for page in pages for o in page] == []


# -- odd keys --------------------------------------------------------------------------------------------


def test_odd_keys_round_trip_through_the_lister_unchanged(s3: S3Client) -> None:
    # given keys with spaces, '+', '%', a literal '%2B', unicode, markup and 1,024 bytes
    for key in ODD_KEYS:
        put(s3, key)

    # when the folder is listed, two keys a page so continuation tokens are exercised too
    keys = listed_keys(s3, "backups/odd/", page_size=2)

    # then every key comes back exactly as it was written, in S3's byte order
    assert keys == sorted(ODD_KEYS, key=lambda k: k.encode())


@pytest.mark.parametrize("key", ODD_KEYS, ids=lambda k: k[len("backups/odd/") :][:24])
def test_odd_keys_round_trip_through_find(s3: S3Client, key: str) -> None:
    # given an object whose key needs escaping in a URL, beside its listing and a neighbour
    body = b"y" * 42
    put(s3, key, body)
    put(s3, key[:-4] + "x.tar")

    # when it and its (absent) listing are looked up
    found = S3Objects(s3).find(BUCKET, [key, key + ".list.txt"])

    # then only it is found, under the same key, with its size and etag
    assert list(found) == [key]
    assert (found[key].key, found[key].size) == (key, 42)
    assert found[key].etag == hashlib.md5(body, usedforsecurity=False).hexdigest()


def test_find_stops_listing_once_past_the_keys_it_wants(s3: S3Client) -> None:
    # given a tarball whose stem is the prefix of many later keys
    put(s3, "backups/h/a.tar")
    put(s3, "backups/h/a.tar.list.txt")
    for n in range(30):
        put(s3, f"backups/h/a.tar.zz{n:02}")
    seen = answer_with(s3.meta.events, "ListObjectsV2", 0, when=lambda attempt, url: False)

    # when the tarball and its listing are looked up with two keys a page
    found = S3Objects(s3, page_size=2).find(BUCKET, ["backups/h/a.tar", "backups/h/a.tar.list.txt"])

    # then both are found from the first page, without listing the other thirty keys
    assert sorted(found) == ["backups/h/a.tar", "backups/h/a.tar.list.txt"]
    assert len(seen) == 1


def test_find_of_nothing_reads_nothing(s3: S3Client) -> None:
    seen = answer_with(s3.meta.events, "ListObjectsV2", 0, when=lambda attempt, url: False)
    assert S3Objects(s3).find(BUCKET, []) == {}
    assert seen == []


# -- errors ----------------------------------------------------------------------------------------------


def test_listing_a_bucket_that_does_not_exist_is_bucket_not_found(s3: S3Client) -> None:
    # given a bucket name nobody created
    lister = S3Lister(s3)

    # when it is listed
    with pytest.raises(BucketNotFoundError) as caught:
        list(lister.pages("no-such-bucket", "backups/"))

    # then the error names the bucket and the cause on one line
    assert "s3://no-such-bucket/backups/" in str(caught.value)
    assert "NoSuchBucket" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_access_denied_on_listing_is_access_denied(s3: S3Client) -> None:
    # given S3 refuses the listing with a 403
    put(s3, "backups/a.tar")
    answer_with(s3.meta.events, "ListObjectsV2", 403, "AccessDenied")

    # when the prefix is listed
    with pytest.raises(AccessDeniedError) as caught:
        list(S3Lister(s3).pages(BUCKET, "backups/"))

    # then the error says what was denied and where to look
    assert "AccessDenied" in str(caught.value)
    assert f"s3://{BUCKET}/backups/" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_throttling_that_outlasts_the_retries_is_throttled(s3: S3Client) -> None:
    # given S3 answers every listing request with 503 SlowDown
    put(s3, "backups/a.tar")
    seen = answer_with(s3.meta.events, "ListObjectsV2", 503, "SlowDown")

    # when the prefix is listed with a client allowed a few retries
    with pytest.raises(ThrottledError) as caught:
        list(S3Lister(s3).pages(BUCKET, "backups/"))

    # then botocore retried before giving up, and the error says so
    assert len(seen) > 1
    assert len(set(seen)) == 1  # the same request, retried
    assert "SlowDown" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_throttling_that_stops_within_the_retries_is_not_an_error(s3: S3Client) -> None:
    # given S3 throttles the first listing request only
    put(s3, "backups/a.tar")
    put(s3, "backups/b.tar")
    seen = answer_with(
        s3.meta.events, "ListObjectsV2", 503, "SlowDown", when=lambda attempt, url: attempt == 1
    )

    # when the prefix is listed
    keys = listed_keys(s3, "backups/")

    # then the retry got the whole listing
    assert len(seen) == 2
    assert keys == ["backups/a.tar", "backups/b.tar"]


def test_find_forbidden_is_access_denied_never_absent(s3: S3Client) -> None:
    # given S3 refuses the small listing with a 403, as it does outside the role's s3:prefix condition
    put(s3, "backups/a.tar")
    answer_with(s3.meta.events, "ListObjectsV2", 403, "AccessDenied")

    # when the tarball and its listing are looked up
    with pytest.raises(AccessDeniedError) as caught:
        S3Objects(s3).find(BUCKET, ["backups/a.tar", "backups/a.tar.list.txt"])

    # then it is an error naming where, not a missing object
    assert f"s3://{BUCKET}/backups/a.tar" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_find_in_a_bucket_that_does_not_exist_is_bucket_not_found(s3: S3Client) -> None:
    with pytest.raises(BucketNotFoundError, match="no-such-bucket"):
        S3Objects(s3).find("no-such-bucket", ["backups/a.tar"])


def test_missing_credentials_translate_to_access_denied_on_one_line() -> None:
    # given botocore found no credentials
    error = NoCredentialsError()

    # when it is translated
    translated = translate(error, "listing s3://b/backups/")

    # then it is an access error that says what could not be done and why
    assert isinstance(translated, AccessDeniedError)
    assert str(translated) == "listing s3://b/backups/: no AWS credentials found"


def test_an_unreachable_endpoint_translates_to_a_storage_error_on_one_line() -> None:
    # given botocore could not connect to the endpoint
    error = EndpointConnectionError(endpoint_url="http://127.0.0.1:9/demo-backups")

    # when it is translated
    translated = translate(error, "listing s3://demo-backups/backups/")

    # then it is a storage error naming the endpoint, on one line
    assert type(translated) is StorageError
    assert str(translated).startswith("listing s3://demo-backups/backups/: ")
    assert "http://127.0.0.1:9/demo-backups" in str(translated)
    assert "\n" not in str(translated)


# -- a failure part-way through a sweep ------------------------------------------------------------------


def test_a_listing_failure_after_the_first_page_ends_the_sweep_without_a_report(s3: S3Client) -> None:
    # given five objects listed two a page, and S3 refusing every request for a later page
    for name in ("a", "b", "c", "d", "e"):
        put(s3, f"backups/host/{name}.tar")
    answer_with(
        s3.meta.events,
        "ListObjectsV2",
        403,
        "AccessDenied",
        when=lambda attempt, url: "continuation-token" in url,
    )
    sweep = Sweep(S3Lister(s3, page_size=2), Config().policy(), 0, 1, clock=lambda: NOW)
    pages_seen: list[int] = []

    def progress(page: int, report: Report) -> None:
        pages_seen.append(page)

    # when the prefix is swept
    with pytest.raises(AccessDeniedError):
        sweep.run(BUCKET, "backups/", progress=progress)

    # then the first page was judged, and the failure on the second raised instead of a partial report
    assert pages_seen == [1]


# -- the lean page parser and folder listings, against moto's real XML ------------------------------------


def test_odd_keys_come_through_the_lean_parser_not_botocores(s3: S3Client) -> None:
    # given the odd keys, and a hook that sees what the lean parser took over on each page
    for key in ODD_KEYS:
        put(s3, key)
    lister = S3Lister(s3, page_size=3)
    taken_over: list[int] = []

    def after_lean_parser(customized_response_dict: dict[str, Any], **kwargs: Any) -> None:
        taken_over.append(len(customized_response_dict.get(list_page.PAGE, [])))

    s3.meta.events.register("before-parse.s3.ListObjectsV2", after_lean_parser)

    # when the folder is listed three keys a page
    keys = [o.key for page in lister.pages(BUCKET, "backups/odd/") for o in page]

    # then the lean parser read every page, and decoded every key to exactly what was written
    assert sum(taken_over) == len(ODD_KEYS)
    assert keys == sorted(ODD_KEYS, key=lambda k: k.encode())


def test_lean_and_botocore_parsers_list_the_same_metadata(s3: S3Client) -> None:
    # given odd keys with their own sizes
    for i, key in enumerate(ODD_KEYS):
        put(s3, key, b"z" * i)
    plain = boto3.client("s3", region_name="us-east-1")  # botocore's parser only

    # when the folder is listed through the lean parser and through botocore's alone
    lean = [o for page in S3Lister(s3, page_size=4).pages(BUCKET, "backups/") for o in page]
    full = [
        (o["Key"], o["Size"], o["LastModified"], o["ETag"].strip('"'))
        for page in plain.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="backups/")
        for o in page["Contents"]
    ]

    # then keys, sizes, times and etags are identical
    assert [(o.key, o.size, o.last_modified, o.etag) for o in lean] == full


def test_a_folder_lists_its_own_keys_and_its_sub_folders(s3: S3Client) -> None:
    # given keys directly in a folder and in sub-folders, some with odd names
    for key in ("backups/top.tar", "backups/a b+c/x.tar", "backups/a b+c/y/z.tar", "backups/h1/x.tar"):
        put(s3, key)

    # when the folder is listed with a delimiter
    pages = list(S3Lister(s3, page_size=1).folder(BUCKET, "backups/"))

    # then its own key and its sub-folders come back, decoded
    assert [o.key for p in pages for o in p.objects] == ["backups/top.tar"]
    assert [f for p in pages for f in p.folders] == ["backups/a b+c/", "backups/h1/"]


def test_a_truncated_listing_page_is_retried(s3: S3Client) -> None:
    # given the first answer to a listing is a 200 whose body the network cut short
    put(s3, "backups/a.tar")
    seen: list[str] = []

    def cut_short(request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        seen.append(request.url)
        if len(seen) == 1:
            return AWSResponse(
                request.url, 200, {}, Body(b"<?xml version='1.0'?><ListBucketResult><Contents>")
            )
        return None

    s3.meta.events.register_first("before-send.s3.ListObjectsV2", cut_short)

    # when the prefix is listed
    keys = listed_keys(s3, "backups/")

    # then botocore retried, and the retry gave the listing
    assert len(seen) == 2
    assert keys == ["backups/a.tar"]


def test_other_operations_keep_botocores_200_error_check(s3: S3Client) -> None:
    # given a lister installed on the client, and S3 answering a copy with a 200 that holds an error
    put(s3, "backups/a.tar")
    S3Lister(s3)
    answer_with(s3.meta.events, "CopyObject", 200, "InternalError")

    # when an object is copied
    # then botocore still reads the embedded error (and retries it as a 500)
    with pytest.raises(ClientError, match="InternalError"):
        s3.copy_object(
            Bucket=BUCKET, Key="backups/b.tar", CopySource={"Bucket": BUCKET, "Key": "backups/a.tar"}
        )


def test_a_sharded_sweep_over_moto_matches_a_flat_one(s3: S3Client) -> None:
    # given hosts, nested folders, loose keys and odd names
    for key in (
        *ODD_KEYS,
        "backups/top.tar",
        "backups/h1/a.tar",
        "backups/h1/a.tar.list.txt",
        "backups/h2/d/b.tgz",
    ):
        put(s3, key, b"x" * 100)

    # when the prefix is swept flat and with eight workers
    def sweep(concurrency: int) -> dict[str, Any]:
        engine = Sweep(
            S3Lister(s3, page_size=2), Config().policy(), 0, 1, lambda: NOW, concurrency=concurrency
        )
        report = engine.run(BUCKET, "backups/").to_dict()
        report["findings"] = sorted(report["findings"], key=lambda f: f["key"])
        return report

    # then both give the same report, every odd key judged under its own name
    flat, sharded = sweep(1), sweep(8)
    assert sharded == flat
    assert {f["key"] for f in sharded["findings"]} >= set(ODD_KEYS)


def test_a_denied_shard_fails_the_sharded_sweep(s3: S3Client) -> None:
    # given two hosts, and S3 refusing to list one of them
    for key in ("backups/h1/a.tar", "backups/h2/b.tar"):
        put(s3, key)
    answer_with(s3.meta.events, "ListObjectsV2", 403, "AccessDenied", when=lambda attempt, url: "h2" in url)
    engine = Sweep(S3Lister(s3), Config().policy(), 0, 1, lambda: NOW, concurrency=4)

    # when the prefix is swept
    # then the sweep is an error naming the shard, not a report about h1
    with pytest.raises(AccessDeniedError, match="backups/h2/"):
        engine.run(BUCKET, "backups/")


def test_the_s3_client_has_a_connection_for_every_sweep_worker() -> None:
    # given a sweep with 32 workers, and one with fewer than botocore's default pool
    from sibling_sentinel.lambda_edge.wiring import aws_client

    # when their clients are built (no request is sent)
    wide = aws_client(Config(concurrency=32), "s3")
    narrow = aws_client(Config(concurrency=2), "s3")

    # then no worker waits for a connection, and the pool never shrinks below botocore's 10
    assert wide.meta.config.max_pool_connections == 32
    assert narrow.meta.config.max_pool_connections == 10


# -- range shards against moto's real listings -----------------------------------------------------------


def awkward_bucket(s3: S3Client) -> None:
    """Odd keys, each with a listing (some too small), sub-folders between tarballs and their listings,
    stem-anchored manifests before their tarballs, orphans, and a folder that holds only sub-folders."""
    for n, key in enumerate(ODD_KEYS):
        put(s3, key)
        if n % 3:
            listing = key + ".list.txt"
            if len(listing.encode()) <= 1024:
                put(s3, listing, b"x" * (10 if n % 4 == 0 else 100))
    for host in ("alpha", "beta", "gamma"):
        put(s3, f"backups/{host}/x.tar.gz")
        put(s3, f"backups/{host}/x.tar.gz.d/notes.txt")
        put(s3, f"backups/{host}/x.tar.gz.list.txt", b"x" * 100)
        put(s3, f"backups/{host}/snap.manifest.json", b"{}")
        put(s3, f"backups/{host}/snap.tgz")
        put(s3, f"backups/{host}/gone.tar.list.txt", b"x" * 100)
    put(s3, "backups/beta/deep/nested/lost.tar")  # `deep/` holds only a sub-folder


def drop_common_prefix(s3: S3Client, prefix: str) -> None:
    """Leave `prefix` out of every delimiter listing, as s3rver 3.7.1 does for a folder of folders."""

    def hook(response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict.get("body")
        if isinstance(body, bytes) and response_dict.get("status_code") == 200:
            entry = f"<CommonPrefixes><Prefix>{quote(prefix, safe='/')}</Prefix></CommonPrefixes>".encode()
            response_dict["body"] = body.replace(entry, b"")

    s3.meta.events.register_first("before-parse.s3.ListObjectsV2", hook)


@pytest.mark.parametrize("group_depth", [0, 1, 2])
def test_range_shards_under_moto_report_exactly_what_one_flat_listing_does(
    s3: S3Client, group_depth: int
) -> None:
    # given the awkward keys, and a server that leaves a folder of folders out of its delimiter listings
    awkward_bucket(s3)
    drop_common_prefix(s3, "backups/beta/deep/")
    folders = [f for page in S3Lister(s3).folder(BUCKET, "backups/beta/") for f in page.folders]
    assert folders == ["backups/beta/x.tar.gz.d/"]
    policy = Config(manifest_rule="optional").policy()
    # when swept as one flat listing and as range shards, a few keys a page
    flat = Sweep(S3Lister(s3, page_size=3), policy, 0, group_depth, clock=lambda: NOW).run(BUCKET, "backups/")
    sharded = Sweep(S3Lister(s3, page_size=3), policy, 0, group_depth, clock=lambda: NOW, concurrency=8)
    report = sharded.run(BUCKET, "backups/")
    # then both say the same, finding for finding, and the folder the server hid was swept
    assert essence(report) == essence(flat)
    assert "backups/beta/deep/nested/lost.tar" in {f["key"] for f in report.findings}
