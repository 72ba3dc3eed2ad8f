import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """Unit tests are pure: any socket they open is a bug (pytest-socket raises)."""
