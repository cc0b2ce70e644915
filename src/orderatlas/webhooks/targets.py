"""Where a webhook may go: http(s) only, never into a private network, Discord only to Discord.

Checked when a URL is set and again, after resolving the host, just before each send: a name
that was public when set may point somewhere private later.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from orderatlas.errors import BadRequest

DISCORD_PREFIXES = ("https://discord.com/api/webhooks/", "https://discordapp.com/api/webhooks/")
# Addresses a webhook must never reach: besides what ipaddress calls private/loopback/link-local,
# CGNAT (100.64.0.0/10) is spelled out because ipaddress does not count it as private.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidWebhookUrl(BadRequest):
    code = "invalid_webhook_url"


class UnsafeWebhookUrl(BadRequest):
    code = "unsafe_webhook_url"


class InvalidDiscordUrl(BadRequest):
    code = "invalid_discord_webhook_url"


class Unresolvable(Exception):
    pass


def is_unsafe(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )


def split_host(url: str, field: str = "webhook_url") -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl(f"{field} must be an http:// or https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidWebhookUrl(f"{field} has an invalid port") from None
    return parts.hostname, port


async def resolve(host: str, port: int, *, use_dns: bool) -> list[IPAddress]:
    """The addresses a host stands for. Literals and *.localhost never need DNS."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    if not use_dns:
        raise Unresolvable(f"{host} was not resolved (DNS lookups are off)")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolvable(f"{host} does not resolve: {exc}") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def safe_addresses(url: str, *, allow_private: bool, use_dns: bool) -> list[IPAddress]:
    """Resolve the URL's host; refuse it if any address is private. Raises Unresolvable."""
    host, port = split_host(url)
    addresses = await resolve(host, port, use_dns=use_dns)
    unsafe = [a for a in addresses if is_unsafe(a)]
    if unsafe and not allow_private:
        raise UnsafeWebhookUrl(f"webhook_url resolves to a non-public address ({unsafe[0]}); refused")
    return addresses


async def check_webhook_url(
    url: str, *, allow_private: bool, use_dns: bool, field: str = "webhook_url"
) -> str:
    """Validate a URL being set. A host that does not resolve (yet) is accepted: send time re-checks."""
    url = url.strip()
    if len(url) > 2000:
        raise InvalidWebhookUrl(f"{field} is longer than 2000 characters")
    split_host(url, field)
    try:
        await safe_addresses(url, allow_private=allow_private, use_dns=use_dns)
    except Unresolvable:
        pass
    return url


def check_discord_url(url: str) -> str:
    url = url.strip()
    if not url.startswith(DISCORD_PREFIXES) or len(url) > 2000 or any(c.isspace() for c in url):
        raise InvalidDiscordUrl(
            "discord_webhook_url must start with https://discord.com/api/webhooks/ "
            "or https://discordapp.com/api/webhooks/"
        )
    return url
