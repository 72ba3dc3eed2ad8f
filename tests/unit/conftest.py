import pytest
import urllib3  # noqa: F401 (imported before sockets are blocked: it probes for IPv6 with a socket at import)


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """Unit tests are pure: any socket they open is a bug (pytest-socket raises)."""
