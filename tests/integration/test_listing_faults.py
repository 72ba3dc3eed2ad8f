"""A server whose listing pages break S3's rules: an error naming the endpoint, never a report.

The pages are real ListObjectsV2 XML answered before moto sees the request, so botocore's parsers, its
URL-decoding and the product's lean page parser all run as against a real server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from sibling_sentinel.adapters.s3 import S3Lister
from sibling_sentinel.cli.main import main
from sibling_sentinel.config import Config
from sibling_sentinel.domain.core.listing import ListingError
from sibling_sentinel.domain.sweep.sweep import Sweep

from fakes import NOW
from stack import Body

BUCKET = "faulty"
Page = tuple[list[str], list[str], bool, str | None]  # keys, CommonPrefixes, IsTruncated, next token


def xml(page: Page) -> bytes:
    keys, prefixes, truncated, token = page
    contents = "".join(
        f"<Contents><Key>{k}</Key><LastModified>2026-11-20T03:00:00.000Z</LastModified>"
        f"<ETag>&quot;e&quot;</ETag><Size>1000</Size><StorageClass>STANDARD</StorageClass></Contents>"
        for k in keys
    )
    commons = "".join(f"<CommonPrefixes><Prefix>{p}</Prefix></CommonPrefixes>" for p in prefixes)
    next_token = f"<NextContinuationToken>{token}</NextContinuationToken>" if token else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>{BUCKET}</Name><Prefix>backups/</Prefix><KeyCount>{len(keys) + len(prefixes)}</KeyCount>"
        f"<MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>{str(truncated).lower()}</IsTruncated>"
        f"{contents}{commons}{next_token}</ListBucketResult>"
    ).encode()


def serve(events: Any, pages: dict[str, Page]) -> Callable[[], list[str]]:
    """Answer ListObjectsV2 with `pages[token]` ("" for the first page)."""
    seen: list[str] = []

    def hook(request: Any, **_: Any) -> AWSResponse:
        query = parse_qs(urlsplit(request.url).query)
        token = query.get("continuation-token", [""])[0]
        seen.append(token)
        return AWSResponse(request.url, 200, {}, Body(xml(pages[token])))

    events.register_first("before-send.s3.ListObjectsV2", hook)
    return lambda: seen


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


FAULTS: dict[str, tuple[dict[str, Page], str]] = {
    "truncated-without-token": (
        {"": (["backups/h/a.tar"], [], True, None)},
        "IsTruncated is true but there is no NextContinuationToken",
    ),
    "repeated-page": (
        {"": (["backups/h/a.tar"], [], True, "t1"), "t1": (["backups/h/a.tar"], [], True, "t2")},
        "does not come after the previous page",
    ),
    "backwards": (
        {"": (["backups/h/b.tar"], [], True, "t1"), "t1": (["backups/h/a.tar"], [], False, None)},
        "does not come after the previous page",
    ),
    "outside-prefix": ({"": (["elsewhere/a.tar"], [], False, None)}, "outside the prefix"),
    "token-loop": (
        {"": (["backups/h/a.tar"], [], True, "t1"), "t1": (["backups/h/b.tar"], [], True, "t1")},
        "came back a second time",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_broken_page_fails_the_listing_with_the_endpoint_and_what_it_did(s3: Any, fault: str) -> None:
    # given a server whose listing breaks one of the rules
    pages, what = FAULTS[fault]
    serve(s3.meta.events, pages)
    # when the prefix is listed
    # then the listing fails, naming the endpoint and the rule, instead of ending early or counting twice
    with pytest.raises(ListingError, match=what) as raised:
        for _ in S3Lister(s3).pages(BUCKET, "backups/"):
            pass
    assert s3.meta.endpoint_url in str(raised.value)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_sweep_over_a_page_without_a_token_is_an_error_not_a_pass(s3: Any, concurrency: int) -> None:
    # given a host folder whose first page claims more and gives no token (its listing was on page 2)
    serve(s3.meta.events, {"": (["backups/h/a.tar"], [], True, None)})
    sweep = Sweep(S3Lister(s3), Config().policy(), 0, 1, clock=lambda: NOW, concurrency=concurrency)
    # when swept, flat or sharded
    # then the sweep raises: it never reports a.tar's listing as missing, nor exits clean
    with pytest.raises(ListingError, match="NextContinuationToken"):
        sweep.run(BUCKET, "backups/")


def test_the_cli_exits_3_with_one_line_when_the_server_breaks_the_listing(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given every new client answering with a page that is truncated without a token
    serve(boto3.DEFAULT_SESSION.events, {"": (["backups/h/a.tar"], [], True, None)})  # type: ignore[union-attr]
    try:
        # when the CLI sweeps, with one flat listing (the path that once exited 0 here)
        code = main(["sweep", f"s3://{BUCKET}/backups/", "--concurrency", "1"], env={})
    finally:
        boto3.setup_default_session()
    # then it exits 3 with one line on stderr that names the endpoint and the fault, and no report
    out, err = capsys.readouterr()
    assert code == 3
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "IsTruncated" in err
    assert "s3.amazonaws.com" in err
