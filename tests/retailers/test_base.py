"""The live adapters' proxy probe: a real TCP connect with a timeout, here against 127.0.0.1 only."""

import asyncio

import pytest

from orderatlas.retailers.base import Proxy, RetailerAdapter
from orderatlas.retailers.sandbox import SandboxRetailer
from tests.retailers.test_sandbox import closed_port

pytestmark = pytest.mark.asyncio

# The sandbox overrides the probe; the base class's own is what every live adapter inherits.
probe = RetailerAdapter.check_proxy


async def test_probe_passes_when_the_proxy_accepts_connections() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await probe(SandboxRetailer.__new__(SandboxRetailer), Proxy("127.0.0.1", port), 3) is None


async def test_probe_reports_a_refused_proxy_as_unreachable() -> None:
    failure = await probe(
        SandboxRetailer.__new__(SandboxRetailer), Proxy("127.0.0.1", closed_port(), "u", "pw"), 3
    )
    assert failure is not None
    assert failure.code == "proxy_unreachable"
    assert failure.message.startswith("proxy 127.0.0.1:")
    assert "pw" not in failure.message
