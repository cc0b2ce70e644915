"""Idempotency rules (Stripe's): replay the first response, refuse a changed body or a concurrent twin.

The key is claimed by inserting it in the request's own transaction, next to the work it answers
for, and the response is stored in that same transaction. So the key, the order and the stored
response commit together or vanish together (a crash leaves nothing half-claimed), and a twin
arriving while the first transaction is open waits briefly on the key's unique index and gets 409.
Validation failures (400), passing conflicts (409) and server-side failures (5xx) roll back with
the work: the key is free again and the client may retry. Other errors (402, 404 ...) are stored.
"""

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.errors import BadRequest, Conflict, OrderAtlasError
from orderatlas.idempotency import repository
from orderatlas.models.base import utcnow

MAX_KEY_LENGTH = 255
KEY_LIFETIME = timedelta(hours=24)
TWIN_WAIT_MS = 200  # how long a twin waits for the first request's transaction before its 409


class KeyReused(OrderAtlasError):
    status_code = 422
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


def check_key(key: str) -> str:
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", code="invalid_idempotency_key"
        )
    return key


def fingerprint(secret_key: str, method: str, path: str, body: bytes) -> str:
    """Same request, same fingerprint: JSON bodies are compared by content, not by spacing."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    message = f"{method} {path}\n".encode() + canonical
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


async def begin(session: AsyncSession, account_id: uuid.UUID, key: str, print_: str) -> Replay | None:
    """Claim the key in the caller's transaction (None: go ahead), replay its response, or refuse."""
    for _ in range(3):  # a row can expire, or be purged, between our insert and our read
        try:
            if await repository.insert_claim(session, account_id, key, print_, TWIN_WAIT_MS):
                return None
        except repository.KeyBusy:
            raise _busy() from None
        row = await repository.find(session, account_id, key)
        if row is None:
            continue
        if row.created_at < utcnow() - KEY_LIFETIME:
            await repository.remove(session, account_id, key)  # expired: the key is new again
            continue
        if row.fingerprint != print_:
            raise KeyReused("this Idempotency-Key was already used with a different request body")
        assert row.response_status is not None and row.response_body is not None
        return Replay(row.response_status, row.response_body)
    raise _busy()


def _busy() -> Conflict:
    return Conflict("a request with this Idempotency-Key is in progress", code="idempotency_conflict")


async def complete(session: AsyncSession, account_id: uuid.UUID, key: str, status: int, body: bytes) -> None:
    """Store the response inside the caller's transaction."""
    await repository.finish(session, account_id, key, status, body)


async def purge_expired(session: AsyncSession) -> int:
    return await repository.purge_older_than(session, utcnow() - KEY_LIFETIME)


def stored(status: int) -> bool:
    """Which responses a retry replays: not validation failures (400), not conflicts that pass
    by themselves (409: a send in flight, an order still processing), not server-side failures."""
    return status not in (400, 409) and status < 500
