"""SQL for idempotency keys."""

import uuid
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models.idempotency import IdempotencyKey

LOCK_NOT_AVAILABLE = "55P03"


class KeyBusy(Exception):
    """Another transaction holds this key, uncommitted: its request is still running."""


async def insert_claim(
    session: AsyncSession, account_id: uuid.UUID, key: str, fingerprint: str, wait_ms: int
) -> bool:
    """Insert the key in the caller's transaction. True: it is ours; False: a committed row exists.

    A twin whose transaction has not ended makes this insert wait on the unique index; waiting at
    most `wait_ms` turns "still running" into KeyBusy instead of a queue of blocked requests.
    """
    await session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_ms)}ms'"))
    try:
        async with session.begin_nested():
            inserted = await session.scalar(
                insert(IdempotencyKey)
                .values(account_id=account_id, key=key, fingerprint=fingerprint)
                .on_conflict_do_nothing()
                .returning(IdempotencyKey.key)
            )
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise KeyBusy from None
        raise
    finally:
        await session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
    return inserted is not None


async def find(session: AsyncSession, account_id: uuid.UUID, key: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def finish(session: AsyncSession, account_id: uuid.UUID, key: str, status: int, body: bytes) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
        .values(response_status=status, response_body=body)
    )


async def remove(session: AsyncSession, account_id: uuid.UUID, key: str) -> None:
    await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    )


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
