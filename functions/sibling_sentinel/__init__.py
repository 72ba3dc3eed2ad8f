"""sibling-sentinel: every backup tarball in S3 has its sibling artifacts next to it."""

__version__ = "0.1.0"
