"""One POST of one delivery: the only place webhooks touch the network.

The host is resolved and checked first, then the request is pinned to the checked address
(Host header and TLS SNI keep the name), so DNS cannot swap in a private address in between.
Only a 2xx counts; redirects are not followed. A pinned connection is never kept alive: the pool
keys connections by address, so a connection whose certificate was checked for one host name
must not carry a request for another name on the same address.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from orderatlas.webhooks import targets

BODY_KEPT = 1000  # characters of the receiver's answer kept in the delivery log
_READ_LIMIT = 64 * 1024
MAX_RETRY_AFTER_S = 24 * 3600


@dataclass(frozen=True)
class Attempt:
    status: int  # 0 when there was no HTTP response
    duration_ms: int
    body: str = ""
    error: str = ""
    retry_after_s: float | None = None
    permanent: bool = False  # retrying cannot help (the target is not allowed)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _pinned(url: str, address: targets.IPAddress) -> tuple[str, dict[str, str], dict[str, str]]:
    parts = urlsplit(targets.ascii_url(url))  # a Unicode host stored before names were encoded
    host = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    host_header = host + (f":{parts.port}" if parts.port else "")
    headers = {"Host": host_header, "Connection": "close"}
    return urlunsplit(parts._replace(netloc=netloc)), headers, extensions


async def _read_some(response: httpx.Response) -> str:
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= _READ_LIMIT:
            break
    return data.decode("utf-8", errors="replace")[:BODY_KEPT]


async def _pin(
    url: str, headers: dict[str, str], allow_private: bool, use_dns: bool, dns_timeout_s: float
) -> tuple[str, dict[str, str], dict[str, str]]:
    addresses = await targets.safe_addresses(
        url, allow_private=allow_private, use_dns=use_dns, timeout_s=dns_timeout_s
    )
    url, host, extensions = _pinned(url, addresses[0])
    return url, {**headers, **host}, extensions


async def post(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    pin: bool,
    allow_private: bool,
    use_dns: bool,
    timeout_s: float,
    dns_timeout_s: float = targets.DEFAULT_DNS_TIMEOUT_S,
) -> Attempt:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    extensions: dict[str, str] = {}
    try:
        async with asyncio.timeout(timeout_s):  # the whole exchange, DNS included, not each read
            if pin:
                url, headers, extensions = await _pin(url, headers, allow_private, use_dns, dns_timeout_s)
            request = http.build_request(
                "POST", url, content=body, headers=headers, timeout=timeout_s, extensions=extensions
            )
            response = await http.send(request, stream=True, follow_redirects=False)
            try:
                text = await _read_some(response)
            finally:
                await response.aclose()
    except (targets.UnsafeWebhookUrl, targets.InvalidWebhookUrl) as exc:  # retrying cannot help
        return Attempt(0, elapsed(), error=exc.message, permanent=True)
    except targets.Unresolvable as exc:
        return Attempt(0, elapsed(), error=str(exc))
    except (httpx.TimeoutException, TimeoutError):
        return Attempt(0, elapsed(), error=f"no response within {timeout_s:g}s")
    except (httpx.HTTPError, ValueError) as exc:
        return Attempt(0, elapsed(), error=f"{type(exc).__name__}: {exc}"[:500])
    return Attempt(response.status_code, elapsed(), body=text, retry_after_s=retry_after(response))
