"""Opaque page tokens that cannot be forged or moved: a JSON payload signed with HMAC-SHA256.

The key is derived from the server's secret key for one purpose, and the signature also covers a
scope (the caller), so a token is refused if it was edited, made by hand, or replayed by anyone else.
"""

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret_key: str, purpose: str, scope: str, body: bytes) -> bytes:
    key = hmac.new(_unb64(secret_key), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, scope.encode() + b"\x00" + body, hashlib.sha256).digest()


def sign(payload: dict[str, Any], *, secret_key: str, purpose: str, scope: str) -> str:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(body)}.{_b64(_mac(secret_key, purpose, scope, body))}"


def verify(token: str, *, secret_key: str, purpose: str, scope: str) -> dict[str, Any] | None:
    """The payload, or None for anything that is not a token this server signed for this scope."""
    try:
        body_part, mac_part = token.split(".")
        body, mac = _unb64(body_part), _unb64(mac_part)
    except (ValueError, binascii.Error):
        return None
    if not hmac.compare_digest(mac, _mac(secret_key, purpose, scope, body)):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
