import gc
from collections.abc import Iterator

import pytest

from sibling_sentinel.lambda_edge.startup import settle_after_startup


@pytest.fixture(autouse=True)
def _aws_test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real account, whatever the developer's shell has set."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sibling-sentinel")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SiblingSentinel")
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # retries are exercised, without long real backoff


@pytest.fixture(autouse=True)
def _collector_as_found() -> Iterator[None]:
    """A sweep tunes this process's garbage collector once (startup.py); the next test gets it back."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    settle_after_startup.cache_clear()
