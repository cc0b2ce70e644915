"""Sealing secrets for transit through Redis (AES-256-GCM), and hashing API keys."""

import base64
import hashlib
import json
import os
import secrets
import string
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_ALPHABET = string.ascii_letters + string.digits


def _key(secret_key: str) -> bytes:
    key = base64.urlsafe_b64decode(secret_key.encode())
    if len(key) != 32:
        raise ValueError("ORDERATLAS_SECRET_KEY must be urlsafe base64 of exactly 32 bytes")
    return key


def seal(payload: dict[str, Any], secret_key: str, *, context: str) -> str:
    """Encrypt a JSON payload; `context` (e.g. the order id) is authenticated, so a sealed
    payload cannot be replayed against another order."""
    nonce = os.urandom(_NONCE_BYTES)
    data = json.dumps(payload, separators=(",", ":")).encode()
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, data, context.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(token: str, secret_key: str, *, context: str) -> dict[str, Any]:
    raw = base64.urlsafe_b64decode(token.encode())
    data = AESGCM(_key(secret_key)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
    result: dict[str, Any] = json.loads(data)
    return result


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
