"""Signed, unguessable links to kept copies: <base URL>/copies/<kind>/<token>.<signature>.html.

The token is 128 random bits and the signature an HMAC of kind and token under a key derived from
ORDERATLAS_SECRET_KEY, so a link can be neither guessed nor altered: a changed character is a 404
before any lookup. The link needs no API key; how long it works is the stored copy's expiry.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from fastapi import Request

from orderatlas.storage.base import KINDS

_FILE = re.compile(r"^([0-9a-f]{32})\.([0-9a-f]{32})\.html$")
_PURPOSE = b"orderatlas copy links"


def new_key(kind: str) -> str:
    assert kind in KINDS
    return f"{kind}/{secrets.token_hex(16)}"


def _signature(secret_key: str, key: str) -> str:
    derived = hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(derived, key.encode(), hashlib.sha256).hexdigest()[:32]


def key_from_link(secret_key: str, kind: str, file: str) -> str | None:
    """The storage key a link names, or None when it is malformed or its signature is wrong."""
    match = _FILE.match(file)
    if match is None or kind not in KINDS:
        return None
    key = f"{kind}/{match.group(1)}"
    return key if hmac.compare_digest(_signature(secret_key, key), match.group(2)) else None


@dataclass(frozen=True)
class CopyLinks:
    base_url: str
    secret_key: str

    def url(self, key: str | None) -> str:
        """The absolute link to a copy; "" when there is none."""
        if not key:
            return ""
        kind, token = key.split("/", 1)
        return f"{self.base_url}/copies/{kind}/{token}.{_signature(self.secret_key, key)}.html"


def links_for(request: Request) -> CopyLinks:
    """Links on ORDERATLAS_PUBLIC_URL, or on the scheme and host the request came in on."""
    settings = request.app.state.settings
    return CopyLinks(settings.public_url or str(request.base_url).rstrip("/"), settings.secret_key)
