"""A lean parser for ListObjectsV2 pages, plugged into botocore's own request path.

botocore's XML parser spends about 65 ms on a 1,000-key page, three quarters of it in dateutil
parsing `LastModified`; the sweep reads four fields of each object. This handler, registered on
`before-parse.s3.ListObjectsV2`, reads those four fields with one regular expression per field
(about 2.5 ms a page), hands botocore the page without its `Contents` to parse as usual (so
`IsTruncated`, `NextContinuationToken`, `CommonPrefixes` and `EncodingType` stay botocore's work),
and botocore's own `after-call` handler then URL-decodes the keys exactly as it always does.

Signing, retries, errors and endpoints are untouched: the handler only ever sees a 200 response,
and any page it cannot read with certainty (CDATA, an element out of the schema, counts that do
not line up) is left to botocore's parser whole.

botocore also parses every 200 body from S3 with ElementTree before its parser runs, only to tell
a truncated body or an embedded `<Error>` from a good page (`_handle_200_error`); on a listing page
that costs more than this parser. For ListObjectsV2 it runs here instead, and only on a page that
does not end with `</ListBucketResult>` (a truncated body, an error, unusual XML): it turns a
broken page into a 500, which botocore retries. Every other operation keeps botocore's check.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from botocore import handlers
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

EVENT = "before-parse.s3.ListObjectsV2"
HANDLER_ID = "sibling-sentinel-lean-list-page"
_S3_200_CHECK = "before-parse.s3.*"
_CLOSE = "</ListBucketResult>"

_CONTENTS = re.compile(r"<Contents>.*?</Contents>", re.S)
_KEY = re.compile(r"<Key>([^<]*)</Key>")
_SIZE = re.compile(r"<Size>([0-9]+)</Size>")
_MODIFIED = re.compile(r"<LastModified>([^<]*)</LastModified>")
_ETAG = re.compile(r"<ETag>([^<]*)</ETag>")


def timestamp(text: str) -> datetime:
    """S3's fixed `2026-11-22T03:00:00.000Z` by the C parser; anything else by botocore's default."""
    if len(text) == 24 and text[10] == "T" and text[-1] == "Z":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    parsed: datetime = DEFAULT_TIMESTAMP_PARSER(text)
    return parsed


def _text(raw: str) -> str:
    if "&" not in raw:
        return raw
    raw = raw.replace("&quot;", '"')  # every etag from S3 is quoted
    return html.unescape(raw) if "&" in raw else raw


def contents(body: str) -> list[dict[str, Any]] | None:
    """Each object's Key (still URL-encoded), Size, LastModified and ETag; None when not certain.

    Each of the four elements appears once in every `Contents` and nowhere else in a ListObjectsV2
    result, so four lists of equal length, each as long as the number of `Contents`, line up.
    """
    if "<![CDATA[" in body:
        return None
    count = body.count("</Contents>")
    keys, sizes = _KEY.findall(body), _SIZE.findall(body)
    modified, etags = _MODIFIED.findall(body), _ETAG.findall(body)
    if not (body.count("<Contents>") == count == len(keys) == len(sizes) == len(modified) == len(etags)):
        return None
    return [
        {"Key": _text(k), "Size": int(s), "LastModified": timestamp(m), "ETag": _text(e)}
        for k, s, m, e in zip(keys, sizes, modified, etags, strict=True)
    ]


def without_contents(body: str) -> str:
    """The page with its `Contents` cut out, for botocore to parse the rest."""
    first, last = body.find("<Contents>"), body.rfind("</Contents>")
    if first < 0:
        return body
    middle = body[first : last + len("</Contents>")]
    if "<CommonPrefixes>" in middle:  # S3 puts them after every Contents; another server might not
        return _CONTENTS.sub("", body)
    return body[:first] + body[last + len("</Contents>") :]


def parse_list_page(
    operation_model: Any, response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore's `before-parse` hook: take over `Contents`, leave the rest of the page to botocore."""
    raw = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not isinstance(raw, bytes):
        return
    if not raw.rstrip().endswith(_CLOSE.encode()):  # truncated, an error, or unusual XML: botocore decides
        _botocore_200_check(operation_model, response_dict)
        return
    body = raw.decode("utf-8")
    objects = contents(body)
    if objects is None:
        return
    customized_response_dict["Contents"] = objects
    response_dict["body"] = without_contents(body).encode("utf-8")


def _botocore_200_check(operation_model: Any, response_dict: Any) -> None:
    check = getattr(handlers, "_handle_200_error", None)
    if check is not None:
        check(operation_model, response_dict)


def _s3_200_check_except_listing(operation_model: Any, response_dict: Any, **_: Any) -> None:
    if operation_model.name != "ListObjectsV2":
        _botocore_200_check(operation_model, response_dict)


def install(client: Any) -> None:
    """Use the lean parser for this client's ListObjectsV2 calls; idempotent, other operations untouched.

    If botocore no longer has its 200-error check under the expected name, it is left in place:
    listing is then slower, never less careful.
    """
    events = client.meta.events
    events.register(EVENT, parse_list_page, unique_id=HANDLER_ID)
    botocore_check = getattr(handlers, "_handle_200_error", None)
    if botocore_check is not None:
        events.unregister(_S3_200_CHECK, botocore_check)
        events.register_first(
            _S3_200_CHECK, _s3_200_check_except_listing, unique_id=HANDLER_ID + "-200-check"
        )
