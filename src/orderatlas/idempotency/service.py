"""Idempotency rules (Stripe's): replay the first response, refuse a changed body or a concurrent twin.

A key is claimed in its own short transaction (committed before the route runs), so a concurrent
request sees it at once. The first response is stored in the same transaction as the work it
describes, so an order and its stored response commit or vanish together. Validation failures
(400) and server-side failures (5xx) are not stored: the key is released and the client may fix
the request and retry.
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
from orderatlas.models.idempotency import IN_PROGRESS

MAX_KEY_LENGTH = 255
KEY_LIFETIME = timedelta(hours=24)
# An in-progress key this old belongs to a request whose process died: its transaction rolled back.
ABANDONED_AFTER = timedelta(seconds=60)


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
    """Claim the key (None: go ahead, once the caller commits), return the stored response, or refuse."""
    if await repository.insert_in_progress(session, account_id, key, print_):
        return None
    row = await repository.lock(session, account_id, key)
    now = utcnow()
    if row is None:  # released between our insert and our lock: the client may simply retry
        raise Conflict("a request with this Idempotency-Key is in progress", code="idempotency_conflict")
    expired = row.created_at < now - KEY_LIFETIME
    abandoned = row.state == IN_PROGRESS and row.locked_at < now - ABANDONED_AFTER
    if expired or abandoned:
        await repository.restart(session, row, print_)
        return None
    if row.fingerprint != print_:
        raise KeyReused("this Idempotency-Key was already used with a different request body")
    if row.state == IN_PROGRESS:
        raise Conflict("a request with this Idempotency-Key is in progress", code="idempotency_conflict")
    assert row.response_status is not None and row.response_body is not None
    return Replay(row.response_status, row.response_body)


async def complete(session: AsyncSession, account_id: uuid.UUID, key: str, status: int, body: bytes) -> None:
    """Store the response inside the caller's transaction."""
    await repository.finish(session, account_id, key, status, body)


async def release(session: AsyncSession, account_id: uuid.UUID, key: str) -> None:
    await repository.remove(session, account_id, key)


async def purge_expired(session: AsyncSession) -> int:
    return await repository.purge_older_than(session, utcnow() - KEY_LIFETIME)


def stored(status: int) -> bool:
    """Which responses a retry replays: not validation failures, not server-side failures."""
    return status != 400 and status < 500
