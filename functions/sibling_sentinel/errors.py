"""The product's own errors. A check that could not be made is an error, never a verdict."""

from __future__ import annotations


class SentinelError(Exception):
    """The check or sweep could not complete; the CLI exits 3 with this one-line reason."""

    exit_code = 3


class BucketNotFoundError(SentinelError):
    pass


class AccessDeniedError(SentinelError):
    pass


class ThrottledError(SentinelError):
    """Throttling that was still there after the SDK's retries."""


class StorageError(SentinelError):
    """Any other failure to reach or read S3 (endpoint down, no credentials, 5xx)."""


class ObjectNotFoundError(SentinelError):
    """The tarball asked about is not there (or its bucket is not)."""


class ConfigError(ValueError):
    """A bad flag or environment variable; the CLI exits 2."""

    exit_code = 2


class WrongRegionError(SentinelError):
    """S3 answered that the bucket lives in another region; the CLI exits 2 and names that region."""

    exit_code = 2


class ObjectChangedError(SentinelError):
    """An object changed between being judged and being read or written (a conditional request's 412)."""


class WriteRefusedError(SentinelError):
    """A write that would land outside `*.list.txt` under the watched prefix; never sent."""
