"""Asking the retailer adapter whether a cookie session is still logged in."""

from orderatlas.auth.dependencies import Principal
from orderatlas.config import Settings
from orderatlas.retailers.base import Proxy, SessionCheck
from orderatlas.retailers.registry import Retailers, probe_proxy
from orderatlas.sessions.schemas import SessionValidate


async def validate(
    principal: Principal, data: SessionValidate, retailers: Retailers, settings: Settings
) -> SessionCheck:
    """The caller key's adapter decides (test keys: the sandbox). Nothing is written anywhere."""
    adapter = retailers.get(retailers.name_for(principal.test_mode))
    proxy = Proxy.parse(data.proxy) if data.proxy else None
    await probe_proxy(adapter, proxy, settings.proxy_probe_timeout_s)
    return await adapter.validate_session(data.cookie_string, data.platform, proxy)
