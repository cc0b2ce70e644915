"""Where a webhook may go: http(s) only, never into a private network, Discord only to Discord.

Checked when a URL is set and again, after resolving the host, just before each send: a name
that was public when set may point somewhere private later.
"""

import asyncio
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import idna

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


# Lookups get their own few threads: a nameserver that never answers must not fill asyncio's
# default pool, which psycopg and redis need to resolve their own hosts ("postgres", "redis").
DNS_THREADS = 4
DEFAULT_DNS_TIMEOUT_S = 2.0
_dns_pool = ThreadPoolExecutor(max_workers=DNS_THREADS, thread_name_prefix="webhook-dns")


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


def has_control_characters(text: str) -> bool:
    """C0 controls, DEL and C1 controls: never part of a URL, and httpx refuses to send them."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


def split_host(url: str, field: str = "webhook_url") -> tuple[str, int]:
    if has_control_characters(url):
        raise InvalidWebhookUrl(f"{field} must not contain control characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # "http://[::1", "http://host:99999" ...
        raise InvalidWebhookUrl(f"{field} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidWebhookUrl(f"{field} must be an http:// or https:// URL")
    return host, port or (443 if parts.scheme == "https" else 80)


def ascii_url(url: str, field: str = "webhook_url") -> str:
    """The URL with its host IDNA-encoded (bücher.example -> xn--bcher-kva.example), so the Host
    header and TLS SNI of a pinned send are ASCII, as HTTP requires."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.isascii():
        return url
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise InvalidWebhookUrl(
            f"{field} has a host name that is not a valid internationalized name"
        ) from None
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0] + "@" if len(netloc) == 2 else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{encoded}{port}"))


def _system_lookup(host: str, port: int) -> list[tuple[Any, ...]]:
    return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)


async def _lookup(host: str, port: int, timeout_s: float) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.run_in_executor(_dns_pool, _system_lookup, host, port)
    except TimeoutError:
        raise Unresolvable(f"{host} did not resolve within {timeout_s:g}s") from None
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode ("a..b")
        raise Unresolvable(f"{host} does not resolve: {exc}") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def resolve(
    host: str, port: int, *, use_dns: bool, timeout_s: float = DEFAULT_DNS_TIMEOUT_S
) -> list[IPAddress]:
    """The addresses a host stands for. Literals and *.localhost never need DNS."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    if not use_dns:
        raise Unresolvable(f"{host} was not resolved (DNS lookups are off)")
    return await _lookup(host, port, timeout_s)


def refuse_unsafe(addresses: list[IPAddress], field: str = "webhook_url") -> None:
    """The address is never echoed: a caller must not map the internal network with it."""
    if any(is_unsafe(a) for a in addresses):
        raise UnsafeWebhookUrl(f"{field} is or resolves to a non-public address; refused")


async def safe_addresses(
    url: str, *, allow_private: bool, use_dns: bool, timeout_s: float = DEFAULT_DNS_TIMEOUT_S
) -> list[IPAddress]:
    """Resolve the URL's host; refuse it if any address is private. Raises Unresolvable."""
    host, port = split_host(url)
    addresses = await resolve(host, port, use_dns=use_dns, timeout_s=timeout_s)
    if not allow_private:
        refuse_unsafe(addresses)
    return addresses


async def check_webhook_url(
    url: str,
    *,
    allow_private: bool,
    use_dns: bool,
    field: str = "webhook_url",
    timeout_s: float = DEFAULT_DNS_TIMEOUT_S,
) -> str:
    """Validate a URL being set; return it as it is stored (host IDNA-encoded). A host that does
    not resolve (yet) is accepted: send time re-checks."""
    url = url.strip()
    if len(url) > 2000:
        raise InvalidWebhookUrl(f"{field} is longer than 2000 characters")
    split_host(url, field)
    url = ascii_url(url, field)
    try:
        await safe_addresses(url, allow_private=allow_private, use_dns=use_dns, timeout_s=timeout_s)
    except Unresolvable:
        pass
    return url


def check_discord_url(url: str) -> str:
    url = url.strip()
    if (
        not url.startswith(DISCORD_PREFIXES)
        or len(url) > 2000
        or any(c.isspace() for c in url)
        or has_control_characters(url)
    ):
        raise InvalidDiscordUrl(
            "discord_webhook_url must start with https://discord.com/api/webhooks/ "
            "or https://discordapp.com/api/webhooks/"
        )
    return url
