"""The lean ListObjectsV2 page parser: the same fields as botocore's parser, or it steps aside."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import botocore.session
import pytest
from botocore.parsers import ResponseParserFactory

from sibling_sentinel.adapters.list_page import (
    PAGE,
    columns,
    lean,
    parse_list_page,
    read,
    timestamp,
    without_contents,
)
from sibling_sentinel.domain.core.objects import ListedObject, ListedPage

ODD = ["a b+c.tar", "100%.tar", "notes & <markup> \"q\" 's'.tar", "résumé-日本-\U0001f600.tar", "k" * 1000]


def page(keys: list[str], prefixes: tuple[str, ...] = (), prefixes_first: bool = False) -> bytes:
    """A page shaped as S3 writes it: url-encoded keys, quoted etags, extra elements in each object."""
    objects = [
        f"<Contents><Key>{quote_plus(k, safe='/')}</Key><LastModified>2026-11-22T03:00:0{i % 10}.000Z"
        f"</LastModified><ETag>&quot;{i:032x}&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>"
        f"<Size>{i * 100}</Size><Owner><ID>o</ID></Owner><StorageClass>STANDARD</StorageClass></Contents>"
        for i, k in enumerate(keys)
    ]
    common = [
        f"<CommonPrefixes><Prefix>{quote_plus(p, safe='/')}</Prefix></CommonPrefixes>" for p in prefixes
    ]
    middle = [*common, *objects] if prefixes_first else [*objects, *common]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p%2F</Prefix>'
        "<NextContinuationToken>t</NextContinuationToken><KeyCount>9</KeyCount><MaxKeys>1000</MaxKeys>"
        "<Delimiter>%2F</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
        + "".join(middle)
        + "</ListBucketResult>\n"
    ).encode()


MODEL = botocore.session.get_session().get_service_model("s3").operation_model("ListObjectsV2")


def botocore_parse(body: bytes) -> dict[str, Any]:
    parser = ResponseParserFactory().create_parser("rest-xml")
    return dict(parser.parse({"status_code": 200, "headers": {}, "body": body}, MODEL.output_shape))


def lean_parse(body: bytes) -> dict[str, Any]:
    response = {"status_code": 200, "headers": {}, "body": body}
    custom: dict[str, Any] = {}
    with lean():
        parse_list_page(MODEL, response, custom)
    parsed = botocore_parse(response["body"])
    parsed.update(custom)
    return parsed


def fields(parsed: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each object as the lister sees it: the lean parser's page, or botocore's `Contents` after
    botocore's `after-call` handler URL-decoded them (`unquote_plus`) and the lister unquoted the etag."""
    if PAGE in parsed:
        return [(o.key, o.size, o.last_modified, o.etag) for o in parsed[PAGE]]
    return [
        (unquote_plus(o["Key"]), o["Size"], o["LastModified"], o["ETag"].strip('"'))
        for o in parsed.get("Contents", [])
    ]


def test_odd_keys_parse_exactly_as_botocore_parses_them() -> None:
    # given an S3 page of keys with spaces, '+', '%', markup, unicode and 1,000 characters
    body = page(ODD, prefixes=("p/sub dir+1/",))

    # when the lean parser and botocore's parser each read it
    lean, full = lean_parse(body), botocore_parse(body)

    # then every object's key, size, time and etag are the same, and so is the rest of the page
    assert fields(lean) == fields(full)
    assert len(fields(lean)) == len(ODD)
    for name in ("IsTruncated", "NextContinuationToken", "CommonPrefixes", "EncodingType", "Prefix"):
        assert lean[name] == full[name]


def test_common_prefixes_between_objects_are_kept_for_botocore() -> None:
    # given a page, from a server other than S3, whose sub-folders come before its objects
    body = page(["p/a.tar"], prefixes=("p/x/", "p/y/"), prefixes_first=True)

    # when its objects are cut out for botocore
    rest = without_contents(body.decode())

    # then both sub-folders are still there and no object is
    assert rest.count("<CommonPrefixes>") == 2
    assert "<Contents>" not in rest


def test_a_truncated_page_becomes_a_500_for_botocore_to_retry() -> None:
    # given a page cut short by the network
    response: dict[str, Any] = {"status_code": 200, "headers": {}, "body": page(ODD)[:-200]}

    # when the lean parser sees it
    parse_list_page(MODEL, response, {})

    # then botocore's own check marks it as a server error, which botocore retries
    assert response["status_code"] == 500


def test_a_complete_page_in_unusual_xml_is_left_to_botocore() -> None:
    # given a well-formed page whose root element carries a namespace prefix
    body = page(["a.tar"]).replace(b"ListBucketResult", b"s3:ListBucketResult")
    body = body.replace(b'xmlns="', b'xmlns:s3="')
    response: dict[str, Any] = {"status_code": 200, "headers": {}, "body": body}
    custom: dict[str, Any] = {}

    # when the lean parser sees it
    parse_list_page(MODEL, response, custom)

    # then it takes nothing over and botocore's check finds nothing wrong
    assert (response["status_code"], response["body"], custom) == (200, body, {})


def test_a_call_that_did_not_ask_for_the_lean_page_gets_botocores() -> None:
    # given a good page, for a ListObjectsV2 call made outside `lean()` (another adapter's)
    body = page(["a.tar"])
    response: dict[str, Any] = {"status_code": 200, "headers": {}, "body": body}
    custom: dict[str, Any] = {}

    # when the lean parser sees it
    parse_list_page(MODEL, response, custom)

    # then botocore parses it whole, `Contents` included
    assert (response["body"], custom) == (body, {})


def test_an_error_response_is_left_to_botocore() -> None:
    # given a 403 with S3's error body
    body = b"<Error><Code>AccessDenied</Code></Error>"
    response: dict[str, Any] = {"status_code": 403, "headers": {}, "body": body}
    custom: dict[str, Any] = {}

    # when the lean parser sees it
    parse_list_page(MODEL, response, custom)

    # then it takes nothing over
    assert (response["status_code"], response["body"], custom) == (403, body, {})


def test_a_page_it_cannot_be_sure_of_is_left_to_botocore_whole() -> None:
    # given a page whose key is in CDATA, and one whose object lacks a size
    cdata = page(["a.tar"]).replace(b"<Key>a.tar</Key>", b"<Key><![CDATA[a.tar]]></Key>")
    no_size = page(["a.tar"]).replace(b"<Size>0</Size>", b"")

    # when the lean parser reads them
    # then it declines both
    assert columns(cdata.decode()) is None
    assert columns(no_size.decode()) is None


def test_an_empty_page_has_no_contents() -> None:
    # given a page with no objects
    # when it is read
    empty = columns(page([]).decode())

    # then there are no objects
    assert empty is not None
    assert list(empty) == []


def test_a_page_in_another_encoding_is_left_to_botocore() -> None:
    # given a page whose EncodingType is not url (botocore would not decode its keys)
    body = page(["a+b.tar"]).replace(b"<EncodingType>url</EncodingType>", b"<EncodingType>u</EncodingType>")

    # when it is read
    # then the lean parser declines it
    assert columns(body.decode()) is None


def test_keys_of_a_page_without_an_encoding_are_not_decoded() -> None:
    # given a page with no EncodingType, whose key holds a literal '+' and '%41'
    body = page(["x"]).replace(b"<EncodingType>url</EncodingType>", b"")
    body = body.replace(b"<Key>x", b"<Key>a+b%41.tar")

    # when the lean parser and botocore each read it
    lean_page, full = lean_parse(body), botocore_parse(body)

    # then the key is exactly as listed, as botocore leaves it
    assert [o.key for o in lean_page[PAGE]] == [o["Key"] for o in full["Contents"]] == ["a+b%41.tar"]


def test_canonical_times_stay_strings_in_columns() -> None:
    # given S3's usual page
    # when it is read
    objects = columns(page(["a.tar", "b.tar"]).decode())

    # then it is a page of columns whose stamps are S3's text, and its objects carry the same instants
    assert isinstance(objects, ListedPage)
    assert list(objects.stamps) == ["2026-11-22T03:00:00.000Z", "2026-11-22T03:00:01.000Z"]
    assert objects[1].last_modified == datetime(2026, 11, 22, 3, 0, 1, tzinfo=UTC)


def test_a_page_with_a_time_in_another_form_is_read_into_objects() -> None:
    # given a page whose second object's time has no milliseconds
    body = page(["a.tar", "b.tar"]).replace(b"03:00:01.000Z", b"03:00:01Z")

    # when the lean parser and botocore each read it
    lean_page, full = lean_parse(body), botocore_parse(body)

    # then it is read into objects at once, each time as botocore parses it
    assert type(lean_page[PAGE]) is list
    assert all(type(o) is ListedObject for o in lean_page[PAGE])
    assert fields(lean_page) == fields(full)


def test_a_time_on_a_day_that_does_not_exist_is_refused_as_botocore_refuses_it() -> None:
    # given a page in S3's format whose time is on 31 November
    body = page(["a.tar"]).replace(b"2026-11-22T", b"2026-11-31T").decode()

    # when it is read
    # then it is not kept as a canonical stamp: parsing it fails as botocore's parser does
    with pytest.raises(ValueError, match="day is out of range"):
        columns(body)


def test_s3_timestamps_parse_to_the_same_instant_as_botocore() -> None:
    # given S3's fixed format, and another ISO form that only the default parser reads
    # when each is parsed
    # then both are the exact UTC instant
    assert timestamp("2026-11-22T03:00:00.000Z") == datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    assert timestamp("2026-11-22T03:00:00Z") == datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    assert timestamp("2026-11-22T03:00:00.123Z").microsecond == 123000


def test_objects_in_another_servers_element_order_read_as_botocore_reads_them() -> None:
    # given a page whose objects list Size first and carry an element S3 does not write
    body = page(ODD)
    for i in range(len(ODD)):
        size = f"<Size>{i * 100}</Size>".encode()
        body = body.replace(size, b"<Extra>1</Extra>", 1)
        body = body.replace(b"<Contents><Key>", b"<Contents>" + size + b"<Key>", 1)
        body = body.replace(b"<Contents>" + size + b"<Key>", b"<Contents>\n" + size + b"<Key>", 1)

    # when the lean parser and botocore each read it
    lean_page, full = lean_parse(body), botocore_parse(body)

    # then the lean parser still reads it, and every field is botocore's
    assert PAGE in lean_page
    assert fields(lean_page) == fields(full)
    assert [size for _, size, _, _ in fields(lean_page)] == [i * 100 for i in range(len(ODD))]


def test_29_february_is_a_day_only_in_a_leap_year() -> None:
    # given a page on 29 February of a leap year, and one on 29 February of another year
    leap = page(["a.tar"]).replace(b"2026-11-22T", b"2028-02-29T").decode()
    not_leap = page(["a.tar"]).replace(b"2026-11-22T", b"2027-02-29T").decode()

    # when each is read
    objects = columns(leap)

    # then the first keeps its stamps as columns, at the right instant; the second fails as botocore would
    assert isinstance(objects, ListedPage)
    assert objects[0].last_modified == datetime(2028, 2, 29, 3, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="day is out of range"):
        columns(not_leap)


def test_an_etag_with_markup_is_unescaped_when_its_object_is_built() -> None:
    # given a page whose etag holds an escaped ampersand
    body = page(["a.tar"]).replace(b"&quot;</ETag>", b"&amp;x&quot;</ETag>")

    # when the lean parser and botocore each read it
    lean_page, full = lean_parse(body), botocore_parse(body)

    # then the object's etag is botocore's, unquoted
    assert fields(lean_page) == fields(full)
    assert fields(lean_page)[0][3].endswith("&x")


def test_a_page_whose_contents_do_not_close_is_left_to_botocore() -> None:
    # given a page with one more `<Contents>` than `</Contents>`
    body = page(["a.tar", "b.tar"]).replace(b"</Contents>", b"", 1).decode()

    # when it is read
    # then the lean parser declines it
    assert columns(body) is None


def test_an_escaped_key_on_a_page_without_an_encoding_is_unescaped_as_botocore_does() -> None:
    # given a page with no EncodingType whose key holds XML escapes
    body = page(["x"]).replace(b"<EncodingType>url</EncodingType>", b"")
    body = body.replace(b"<Key>x", b"<Key>a &amp; b &lt;c&gt;.tar")

    # when the lean parser and botocore each read it
    lean_page, full = lean_parse(body), botocore_parse(body)

    # then the key is botocore's
    assert fields(lean_page) == fields(full)
    assert fields(lean_page)[0][0] == "a & b <c>.tar"


def test_a_page_with_much_trailing_space_still_gets_botocores_check() -> None:
    # given a good page followed by more blank space than the end the lean parser looks at
    body = page(["a.tar"]) + b" " * 1000
    response: dict[str, Any] = {"status_code": 200, "headers": {}, "body": body}
    custom: dict[str, Any] = {}

    # when the lean parser sees it
    with lean():
        parse_list_page(MODEL, response, custom)

    # then botocore's check finds nothing wrong and botocore parses the page itself
    assert (response["status_code"], custom) == (200, {})


def test_a_stray_closing_contents_sends_an_s3_shaped_page_the_careful_way() -> None:
    # given an S3-shaped page with one `</Contents>` too many after its objects
    body = page(["a.tar", "b.tar"]).replace(b"</ListBucketResult>", b"</Contents></ListBucketResult>")

    # when it is read
    # then the lean parser declines it, as the counts do not line up
    assert columns(body.decode()) is None


def test_a_page_read_in_one_pass_leaves_botocore_what_lies_around_its_contents() -> None:
    # given an S3 page of odd keys with a sub-folder after its objects
    body = page(ODD, prefixes=("p/sub dir+1/",)).decode()

    # when it is read
    objects, rest = read(body)

    # then every object is read, and botocore gets the page without them, as `without_contents` cuts it
    assert objects is not None
    assert [o.key for o in objects] == ODD
    assert rest == without_contents(body)
    assert "<Contents>" not in rest
    assert rest.count("<CommonPrefixes>") == 1


def test_one_object_in_another_shape_among_s3_shaped_ones_is_read_as_botocore_reads_it() -> None:
    # given an S3 page whose middle object carries an element S3 does not write, and another page
    # (not from S3) with a sub-folder between its objects
    odd_one = page(ODD).replace(b"<Size>200</Size>", b"<Size>200</Size><Extra>1</Extra>")
    folder = b"</Contents><CommonPrefixes><Prefix>p%2Fx%2F</Prefix></CommonPrefixes><Contents>"
    between = page(["p/a.tar", "p/b.tar"]).replace(b"</Contents><Contents>", folder)

    # when the lean parser and botocore each read them
    # then each object is botocore's, none skipped, and the sub-folder is still botocore's to read
    for body in (odd_one, between):
        lean_page, full = lean_parse(body), botocore_parse(body)
        assert PAGE in lean_page
        assert fields(lean_page) == fields(full)
        assert lean_page.get("CommonPrefixes") == full.get("CommonPrefixes")
    assert len(fields(lean_parse(odd_one))) == len(ODD)


def test_cdata_outside_the_objects_leaves_the_page_to_botocore() -> None:
    # given an S3-shaped page whose Prefix is written as CDATA
    body = page(["a.tar"]).replace(b"<Prefix>p%2F</Prefix>", b"<Prefix><![CDATA[p%2F]]></Prefix>", 1)

    # when it is read
    # then the lean parser declines it
    assert columns(body.decode()) is None
