"""Which adapter serves an order: test keys always get the sandbox, live keys get ORDERATLAS_RETAILER."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.errors import BadRequest, ServiceUnavailable
from orderatlas.models.base import utcnow
from orderatlas.retailers.base import UNSAFE_PROXY, Proxy, RetailerAdapter
from orderatlas.retailers.sandbox import SandboxRetailer

SANDBOX = SandboxRetailer.name
KNOWN_ADAPTERS = frozenset({SANDBOX})


class RetailerNotConfigured(ServiceUnavailable):
    code = "retailer_not_configured"


class ProxyUnreachable(ServiceUnavailable):
    code = "proxy_unreachable"


async def probe_proxy(adapter: RetailerAdapter, proxy: Proxy | None, timeout_s: float) -> None:
    """Refuse with 503 before anything is written, as the reference says, when the proxy is down."""
    if proxy is not None:
        failure = await adapter.check_proxy(proxy, timeout_s)
        if failure is not None and failure.code == UNSAFE_PROXY:
            raise BadRequest(failure.message, code=UNSAFE_PROXY)
        if failure is not None:
            raise ProxyUnreachable(failure.message)


class Retailers:
    """Builds each adapter once per process and picks the one an order uses."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock  # the sandbox's timeline reads it; tests move it instead of sleeping
        self._adapters: dict[str, RetailerAdapter] = {}

    def name_for(self, test_mode: bool) -> str:
        """oatl_test_ keys always get the sandbox; oatl_live_ keys get ORDERATLAS_RETAILER."""
        if test_mode:
            return SANDBOX
        if not self._settings.retailer:
            raise RetailerNotConfigured(
                "no retailer adapter is configured for live orders (set ORDERATLAS_RETAILER); "
                "use an oatl_test_ key for the sandbox"
            )
        if self._settings.retailer not in KNOWN_ADAPTERS:
            raise RetailerNotConfigured(f"unknown retailer adapter {self._settings.retailer!r}")
        return self._settings.retailer

    def get(self, name: str) -> RetailerAdapter:
        if name not in self._adapters:
            if name != SANDBOX:
                raise RetailerNotConfigured(f"unknown retailer adapter {name!r}")
            self._adapters[name] = SandboxRetailer(
                self._sessionmaker,
                latency_ms=self._settings.sandbox_latency_ms,
                ship_after_s=self._settings.sandbox_ship_after_s,
                clock=self._clock,
            )
            self._adapters[name].allow_private_proxies = self._settings.proxy_allow_private_networks
        return self._adapters[name]

    def sandbox(self) -> SandboxRetailer:
        """The sandbox itself, for what only it can do (POST /v1/sandbox/orders/:id/advance)."""
        adapter = self.get(SANDBOX)
        assert isinstance(adapter, SandboxRetailer)
        return adapter
