"""The custom resource's answer: a PUT of JSON to CloudFormation's presigned S3 URL (no SDK call)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from ..errors import StorageError


class PresignedResponder:
    def __init__(self, timeout_s: float = 30.0) -> None:
        self._timeout = timeout_s

    def send(self, url: str, body: Mapping[str, Any]) -> None:
        """The presigned URL signs an empty Content-Type, so none is sent."""
        if not url.startswith(("https://", "http://")):
            raise StorageError(f"the custom resource's ResponseURL is not an HTTP URL: {url[:60]!r}")
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url, data=data, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(data))}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                answer.read()
        except (urllib.error.URLError, OSError) as e:
            raise StorageError(f"answering CloudFormation: {e}") from e
