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
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidWebhookUrl(BadRequest):
    code = "invalid_webhook_url"


class UnsafeWebhookUrl(BadRequest):
    code = "unsafe_webhook_url"


class InvalidDiscordUrl(BadRequest):
    code = "invalid_discord_webhook_url"


class Unresolvable(Exception):
    pass


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Refused outright: local-use NAT64 and IPv4-translated addresses can lead anywhere inside.
_NEVER = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("::ffff:0:0:0/96"))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4, Teredo client):
    that is where a connection to it leads."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_unsafe(address: IPAddress) -> bool:
    """Anything not globally routable: loopback, private, link-local (169.254/16, fe80::/10), CGNAT
    (100.64/10), unique-local (fc00::/7), multicast, reserved and unspecified addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NEVER):
            return True
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_unsafe(inner)
        if address.is_site_local:
            return True
    return not address.is_global or address.is_multicast or address.is_reserved


def split_host(url: str, field: str = "webhook_url") -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # "http://[::1", "http://host:99999" ...
        raise InvalidWebhookUrl(f"{field} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidWebhookUrl(f"{field} must be an http:// or https:// URL")
    return host, port or (443 if parts.scheme == "https" else 80)


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
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode ("a..b")
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
