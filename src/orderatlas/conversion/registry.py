"""Which provider converts an order: test keys get the sandbox, live ORDERATLAS_CONVERSION_PROVIDER."""

from orderatlas.config import Settings
from orderatlas.conversion.base import ConversionProvider
from orderatlas.conversion.sandbox import SandboxConversion
from orderatlas.errors import ServiceUnavailable

SANDBOX = SandboxConversion.name
KNOWN_PROVIDERS = frozenset({SANDBOX})


class ProviderNotConfigured(ServiceUnavailable):
    code = "conversion_provider_not_configured"


class Providers:
    """Builds each provider once per process and picks the one an order uses."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._providers: dict[str, ConversionProvider] = {}

    def name_for(self, test_mode: bool) -> str:
        if test_mode:
            return SANDBOX
        name = self._settings.conversion_provider
        if not name:
            raise ProviderNotConfigured(
                "no conversion provider is configured for live orders (set ORDERATLAS_CONVERSION_PROVIDER); "
                "use an oatl_test_ key for the sandbox"
            )
        if name not in KNOWN_PROVIDERS:
            raise ProviderNotConfigured(f"unknown conversion provider {name!r}")
        return name

    def get(self, name: str) -> ConversionProvider:
        if name not in self._providers:
            if name != SANDBOX:
                raise ProviderNotConfigured(f"unknown conversion provider {name!r}")
            self._providers[name] = SandboxConversion(self._settings.sandbox_conversion_slow_s)
        return self._providers[name]

    def for_order(self, test_mode: bool) -> ConversionProvider:
        return self.get(self.name_for(test_mode))
