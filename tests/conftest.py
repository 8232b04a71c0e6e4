"""Test tiers: unit and unmarked tests may not open network sockets; integration and e2e may."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket, enable_socket

SERVICE_MARKERS = ("integration", "e2e")


@pytest.fixture(autouse=True)
def _block_network(request: pytest.FixtureRequest) -> object:
    """Block every non-Unix socket outside integration and e2e tests."""
    if any(request.node.get_closest_marker(m) for m in SERVICE_MARKERS):
        enable_socket()
        yield
        return
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()
