"""Signatures on every delivery: the reference's X-OrderAtlas-Signature and Standard Webhooks.

Both are HMAC-SHA256 keyed with the account's webhook_secret (its UTF-8 bytes):
- X-OrderAtlas-Signature: sha256=<hex of HMAC(raw body)>, what the reference's snippets verify;
- webhook-signature: v1,<base64 of HMAC("{webhook-id}.{webhook-timestamp}.{raw body}")>, which any
  Standard Webhooks verifier accepts given standard_webhooks_secret ("whsec_" + base64 of the key).
"""

import base64
import hashlib
import hmac

USER_AGENT = "OrderAtlas-Webhook/1.0"


def standard_webhooks_secret(webhook_secret: str) -> str:
    return "whsec_" + base64.b64encode(webhook_secret.encode()).decode()


def signature_headers(webhook_secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    key = webhook_secret.encode()
    reference = hmac.new(key, body, hashlib.sha256).hexdigest()
    signed = f"{event_id}.{timestamp}.".encode() + body
    standard = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-OrderAtlas-Signature": f"sha256={reference}",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{standard}",
    }
