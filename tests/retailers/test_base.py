"""The live adapters' proxy probe: a real TCP connect with a timeout, here against 127.0.0.1 only."""

import asyncio
from collections.abc import Awaitable

import pytest

from orderatlas.retailers.base import Failure, Proxy, RetailerAdapter
from orderatlas.retailers.sandbox import SandboxRetailer
from tests.retailers.test_sandbox import closed_port

pytestmark = pytest.mark.asyncio

# The sandbox overrides the probe; the base class's own is what every live adapter inherits.
# Its proxies here are on 127.0.0.1, so private addresses are allowed, as configuration can.


def adapter(*, allow_private: bool = True) -> RetailerAdapter:
    instance = SandboxRetailer.__new__(SandboxRetailer)
    instance.allow_private_proxies = allow_private
    return instance


def probe(adapter: RetailerAdapter, proxy: Proxy, timeout_s: float) -> Awaitable[Failure | None]:
    return RetailerAdapter.check_proxy(adapter, proxy, timeout_s)


async def test_probe_passes_when_the_proxy_accepts_connections() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await probe(adapter(), Proxy("127.0.0.1", port), 3) is None


async def test_probe_reports_a_refused_proxy_as_unreachable() -> None:
    failure = await probe(adapter(), Proxy("127.0.0.1", closed_port(), "u", "pw"), 3)
    assert failure is not None
    assert failure.code == "proxy_unreachable"
    assert failure.message.startswith("proxy 127.0.0.1:")
    assert "pw" not in failure.message


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "localhost", "::1"])
async def test_probe_refuses_loopback_and_private_proxies_without_connecting(host: str) -> None:
    failure = await probe(adapter(allow_private=False), Proxy(host, closed_port(), "u", "pw"), 3)
    assert failure is not None
    assert failure.code == "unsafe_proxy"
    assert "non-public" in failure.message  # no OS error: nothing was connected to
