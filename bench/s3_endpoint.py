"""A loopback S3 endpoint that answers ListObjectsV2 with real S3 XML, for listing benchmarks.

It serves one read-only bucket generated in memory: `--keys` objects under `backups/`, `--hosts`
host folders of nightly tarballs, each with its `.list.txt` listing (1% missing), plus a few keys
directly under the prefix and a few with odd characters. It speaks ListObjectsV2 as S3 does:
`prefix`, `delimiter` with `CommonPrefixes`, `continuation-token`, `start-after`, `max-keys` (at
most 1,000) and `encoding-type=url` (keys URL-encoded, a space as `+`). Every request waits
`--latency-ms` first, to model S3's round trip; requests are served concurrently. Any
`Authorization` header is accepted without checking it. HEAD and GET of an object answer 404.

`GET /__stats` returns the number of list requests served so far and resets it.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, urlsplit
from xml.sax.saxutils import escape

BUCKET = "bench-bucket"
PREFIX = "backups/"
MISSING_RATE = 0.01
NS = "http://s3.amazonaws.com/doc/2006-03-01/"
LOOSE = ("README.txt", "top level.tar", "top level.tar.list.txt")
ODD_NAMES = ("a+b c&d<e>.tar", "100%.tar", "résumé-日本.tar")
BASE_TIME = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def dataset(keys: int, hosts: int, seed: int = 20261122) -> list[tuple[str, int, str]]:
    """Exactly `keys` (key, size, last-modified) in S3 order: tarballs and listings, spread over hosts.

    A listing is written a minute after its tarball; 1% of tarballs have none.
    """
    rng = random.Random(seed)
    out = [(PREFIX + name, 100, _stamp(0)) for name in LOOSE]
    per_host = (keys - len(out)) // hosts + 1
    for host in range(hosts):
        folder = f"{PREFIX}host{host:04d}/"
        written = len(out)
        out += [(folder + name, 100, _stamp(0)) for name in ODD_NAMES]
        n = 0
        while len(out) - written < per_host:
            tarball, when = f"{folder}{n:07d}.tar.zst", rng.randrange(10**6)
            out.append((tarball, rng.randrange(10**6, 10**10), _stamp(when)))
            if rng.random() >= MISSING_RATE:
                out.append((tarball + ".list.txt", rng.randrange(64, 10**6), _stamp(when + 60)))
            n += 1
    return sorted(out)[:keys]


def _stamp(seconds: int) -> str:
    return f"{BASE_TIME + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%S}.000Z"


def _encode(text: str, url: bool) -> str:
    return quote_plus(text, safe="/") if url else escape(text)


def _contents(i: int, obj: tuple[str, int, str], url: bool) -> str:
    key, size, modified = obj
    return (
        f"<Contents><Key>{_encode(key, url)}</Key><LastModified>{modified}</LastModified>"
        f"<ETag>&quot;{i:032x}&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>"
        f"<ChecksumType>FULL_OBJECT</ChecksumType><Size>{size}</Size>"
        f"<StorageClass>STANDARD</StorageClass></Contents>"
    )


class Listing:
    """The sorted keys and the ListObjectsV2 logic over them.

    Each object's `<Contents>` with `encoding-type=url` is rendered once, up front, so that serving a
    page costs the server little CPU: real S3 spends none of the benchmark machine's.
    """

    def __init__(self, objects: list[tuple[str, int, str]]) -> None:
        self.objects = objects
        self.keys = [o[0] for o in objects]
        self.rendered = [_contents(i, o, url=True) for i, o in enumerate(objects)]

    def _end_of(self, prefix: str) -> int:
        """The index after the last key under the prefix (keys under a prefix are contiguous)."""
        if not prefix:
            return len(self.keys)
        return bisect.bisect_left(self.keys, prefix[:-1] + chr(ord(prefix[-1]) + 1))

    def page(self, query: dict[str, str]) -> bytes:
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        url = query.get("encoding-type") == "url"
        max_keys = min(int(query.get("max-keys", "1000")), 1000)
        token = query.get("continuation-token")
        start = bisect.bisect_right(self.keys, query.get("start-after", ""))
        start = max(start, bisect.bisect_left(self.keys, prefix))
        if token:
            start = int(base64.urlsafe_b64decode(token))
        contents: list[str] = []
        prefixes: list[str] = []
        i = start
        if url and not delimiter:  # a sweep's range listing: the page is a slice of what was rendered
            i = max(start, min(start + max_keys, self._end_of(prefix)))
            contents = self.rendered[start:i]
        while i < len(self.keys) and len(contents) + len(prefixes) < max_keys:
            key = self.keys[i]
            if not key.startswith(prefix):
                break
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                prefixes.append(f"<CommonPrefixes><Prefix>{_encode(common, url)}</Prefix></CommonPrefixes>")
                i = self._end_of(common)
                continue
            contents.append(self.rendered[i] if url else _contents(i, self.objects[i], url))
            i += 1
        truncated = i < len(self.keys) and self.keys[i].startswith(prefix)
        head = [
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}">',
            f"<Name>{BUCKET}</Name><Prefix>{_encode(prefix, url)}</Prefix>",
        ]
        if token:
            head.append(f"<ContinuationToken>{token}</ContinuationToken>")
        if truncated:
            head.append(
                f"<NextContinuationToken>{base64.urlsafe_b64encode(str(i).encode()).decode()}</NextContinuationToken>"
            )
        head.append(f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            head.append(f"<Delimiter>{_encode(delimiter, url)}</Delimiter>")
        if url:
            head.append("<EncodingType>url</EncodingType>")
        head.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        return "".join([*head, *contents, *prefixes, "</ListBucketResult>"]).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a short last segment waits for the client's
    # delayed ACK (~40 ms on Linux), a stall real S3 does not add. Measured: 50 small folders listed at
    # --concurrency 2 took 1.53 s with it, against 0.38 s for one flat listing.
    disable_nagle_algorithm = True
    server: Endpoint

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        time.sleep(self.server.latency_s)
        self._send(404)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/__stats":
            self._send(200, str(self.server.take_count()).encode(), "text/plain")
            return
        time.sleep(self.server.latency_s)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        bucket = parts.path.strip("/").split("/")[0] or self.headers.get("Host", "").split(".")[0]
        if bucket != BUCKET:
            self._send(404, b"<Error><Code>NoSuchBucket</Code><Message>no such bucket</Message></Error>")
        elif query.get("list-type") == "2":
            self.server.count()
            self._send(200, self.server.listing.page(query))
        elif "location" in query:
            self._send(200, f'<LocationConstraint xmlns="{NS}"/>'.encode())
        else:
            self._send(
                404, b"<Error><Code>NoSuchKey</Code><Message>only ListObjectsV2 here</Message></Error>"
            )


class Endpoint(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, listing: Listing, latency_ms: float) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.listing = listing
        self.latency_s = latency_ms / 1000
        self._lock = threading.Lock()
        self._requests = 0

    def count(self) -> None:
        with self._lock:
            self._requests += 1

    def take_count(self) -> int:
        with self._lock:
            n, self._requests = self._requests, 0
        return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port, printed on stdout")
    args = parser.parse_args()
    server = Endpoint(args.port, Listing(dataset(args.keys, args.hosts)), args.latency_ms)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
