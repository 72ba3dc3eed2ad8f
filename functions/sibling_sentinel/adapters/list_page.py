"""A lean parser for ListObjectsV2 pages, plugged into botocore's own request path.

botocore's XML parser spends about 65 ms on a 1,000-key page, three quarters of it in dateutil
parsing `LastModified`; the sweep reads four fields of each object. This handler, registered on
`before-parse.s3.ListObjectsV2`, reads those four fields (in one regex pass when every object is
exactly S3's shape, else one regular expression per field) into columns (`ListedPage`), left in
the parsed response as `PAGE`, and hands botocore the page without its `Contents` to parse as usual
(so `IsTruncated`, `NextContinuationToken`, `CommonPrefixes` and `EncodingType` stay botocore's
work). Keys are URL-decoded here, as botocore's `after-call` handler would (`unquote_plus`), only
those that hold an escape; that handler then finds no `Contents` to walk. Only calls made inside
`lean()` (`S3Lister`'s) are taken over.

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
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote_plus

from botocore import handlers
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

from ..domain.core.objects import ListedObject, ListedPage

EVENT = "before-parse.s3.ListObjectsV2"
HANDLER_ID = "sibling-sentinel-lean-list-page"
_S3_200_CHECK = "before-parse.s3.*"
_CLOSE = "</ListBucketResult>"
_CLOSE_BYTES = _CLOSE.encode()
_TAIL = 256  # bytes: the end of a page, where its closing tag is (a copy of the whole page is not needed)

_CONTENTS = re.compile(r"<Contents>.*?</Contents>", re.S)
_KEY = re.compile(r"<Key>([^<]*)</Key>")
_SIZE = re.compile(r"<Size>([0-9]+)</Size>")
_MODIFIED = re.compile(r"<LastModified>([^<]*)</LastModified>")
_ETAG = re.compile(r"<ETag>([^<]*)</ETag>")
_CLOCK = r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z"
_STAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}" + _CLOCK
# a stamp on a date that exists, 29 February aside (a page with one is checked day by day instead)
_REAL_STAMP = (
    r"(?!0000)[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)" + _CLOCK
)
_CANONICAL = re.compile(f"{_STAMP}(?:\x00{_STAMP})*")  # stamps joined by _SEP
# One `Contents` as S3 (and moto) write it: the four fields first, in this order, then only elements
# known to hold nothing the sweep reads. A page all of whose objects match is read in one pass.
# Quantifiers are possessive (`*+`): each element's text ends at the first `<` and the alternatives open
# with different tags, so there is nothing to backtrack into, and the engine keeps no backtracking state.
_OTHER = (
    "<ChecksumAlgorithm>[^<]*+</ChecksumAlgorithm>|<ChecksumType>[^<]*+</ChecksumType>"
    "|<StorageClass>[^<]*+</StorageClass>"
)
_OWNER = "<Owner>(?:<ID>[^<]*+</ID>|<DisplayName>[^<]*+</DisplayName>)*+</Owner>"
_S3_CONTENTS = re.compile(
    f"<Contents><Key>([^<]*+)</Key><LastModified>({_REAL_STAMP})</LastModified><ETag>([^<]*+)</ETag>"
    f"(?:{_OTHER})*+<Size>([0-9]++)</Size>(?:{_OTHER}|{_OWNER})*+</Contents>"
)
_FIELDS = 4  # the groups of _S3_CONTENTS; its `split` gives the text before each match, then its groups
_URL = "<EncodingType>url</EncodingType>"
_SEP = "\x00"  # cannot occur in XML 1.0 text
# Where the hook leaves the page's objects in botocore's parsed response: a name of no S3 field, so
# botocore's own handlers (the URL-decoding of `Contents` among them) pass it by.
PAGE = "SiblingSentinelPage"
_LEAN = threading.local()


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


def _keys(raws: Sequence[str], url: bool) -> Sequence[str]:
    """Keys XML-unescaped, then URL-decoded as botocore's `after-call` handler does (`unquote_plus`),
    each only where it holds an escape: most keys hold none."""
    joined = _SEP.join(raws)
    if "&" in joined:
        raws = [_text(r) for r in raws]
    if url and ("%" in joined or "+" in joined):
        return [unquote_plus(k) if "%" in k or "+" in k else k for k in raws]
    return raws


def _canonical(stamps: Sequence[str]) -> bool:
    """Whether every LastModified is S3's `YYYY-MM-DDTHH:MM:SS.mmmZ` on a real date, so the page can keep
    them as strings (`ListedPage`)."""
    return _CANONICAL.fullmatch(_SEP.join(stamps)) is not None and _real_days(stamps)


def _real_days(stamps: Sequence[str]) -> bool:
    try:
        for day in {s[:10] for s in stamps}:
            date.fromisoformat(day)
    except ValueError:
        return False
    return True


def read(body: str) -> tuple[ListedPage | list[ListedObject] | None, str]:
    """The page's objects (`columns`), and the page without its `Contents` for botocore to parse.

    The `Contents` run from the page's first `<Contents>` to its last `</Contents>` (no text outside an
    element holds a `<`, so both are tags). When that run is read whole in one pass (`_exact`), nothing
    else is among the `Contents`, so the rest is what lies around the run.
    """
    first, last = body.find("<Contents>"), body.rfind("</Contents>") + len("</Contents>")
    exact = _exact(body[first:last]) if 0 <= first < last else None
    rest = without_contents(body) if exact is None else body[:first] + body[last:]
    return _columns(body, rest, exact), rest


def columns(body: str) -> ListedPage | list[ListedObject] | None:
    """Each object's key (decoded), size, time and etag; None when not certain.

    Each of the four elements appears once in every `Contents` and nowhere else in a ListObjectsV2
    result, so four lists of equal length, each as long as the number of `Contents`, line up. Keys are
    URL-decoded when the page says `EncodingType` url, which the lister never asks for itself: botocore
    does, and its own decoding then finds no `Contents` to decode. A page whose times are not all
    canonical is read into `ListedObject`s at once, each time as botocore would parse it.
    """
    return read(body)[0]


_Exact = tuple[list[str], list[str], list[str], list[str]]


def _columns(body: str, outside: str, exact: _Exact | None) -> ListedPage | list[ListedObject] | None:
    """`columns`, given the page without its `Contents` (where `EncodingType` is) and `_exact`'s pass."""
    if "<![CDATA[" in outside:  # (one among the `Contents` stops `_exact`, and is looked for below)
        return None
    encoding = outside.count("<EncodingType>")
    if encoding > 1 or (encoding and _URL not in outside):
        return None  # an encoding botocore would not decode, or would read differently: botocore's
    if exact is not None:
        names, times, tags, sizes = exact
        return XmlPage(_keys(names, encoding == 1), list(map(int, sizes)), times, tags)
    if "<![CDATA[" in body:
        return None
    count = body.count("</Contents>")
    if body.count("<Contents>") != count:
        return None
    if count == 0:
        return ListedPage([], [], [], [])
    keys, numbers = _KEY.findall(body), _SIZE.findall(body)
    modified, etags = _MODIFIED.findall(body), _ETAG.findall(body)
    if not (count == len(keys) == len(numbers) == len(modified) == len(etags)):
        return None
    decoded = _keys(keys, encoding == 1)
    if _canonical(modified):
        return XmlPage(decoded, list(map(int, numbers)), modified, etags)
    return [
        ListedObject(k, int(s), timestamp(m), _text(t).strip('"'))
        for k, s, m, t in zip(decoded, numbers, modified, etags, strict=True)
    ]


def _exact(contents: str) -> _Exact | None:
    """Keys, times, etags and sizes in one pass, when every object is exactly as S3 writes it.

    `contents` is the page from its first `<Contents>` to its last `</Contents>`. When that is nothing
    but matches of `_S3_CONTENTS`, back to back, split leaves only empty text between them, and each
    object has been read whole: none is skipped, none is read in part. Anything else (one object in
    another shape, `CommonPrefixes` among the `Contents`) is None, for the field-by-field reading.
    """
    parts, step = _S3_CONTENTS.split(contents), _FIELDS + 1
    if len(parts) == 1 or any(parts[::step]):
        return None
    return parts[1::step], parts[2::step], parts[3::step], parts[4::step]


class XmlPage(ListedPage):
    """A page as the XML gave it: each etag is XML-unescaped only when its object is built."""

    __slots__ = ()

    def etag(self, index: int) -> str:
        return _text(self.etags[index]).strip('"')


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
    # truncated, an error, or unusual XML (or more trailing space than a tail holds): botocore decides
    if not raw[-_TAIL:].rstrip().endswith(_CLOSE_BYTES):
        _botocore_200_check(operation_model, response_dict)
        return
    if not getattr(_LEAN, "on", False):
        return
    objects, rest = read(raw.decode("utf-8"))
    if objects is None:
        return
    customized_response_dict[PAGE] = objects
    response_dict["body"] = rest.encode("utf-8")


@contextmanager
def lean() -> Iterator[None]:
    """The calls made inside (on this thread) get their page as `PAGE`, with no `Contents`: only a
    caller that reads `PAGE` asks; any other ListObjectsV2 call on the client gets botocore's page."""
    _LEAN.on = True
    try:
        yield
    finally:
        _LEAN.on = False


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
