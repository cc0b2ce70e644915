"""SQL for idempotency keys."""

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models.base import utcnow
from orderatlas.models.idempotency import DONE, IN_PROGRESS, IdempotencyKey


async def insert_in_progress(
    session: AsyncSession, account_id: uuid.UUID, key: str, fingerprint: str
) -> bool:
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(account_id=account_id, key=key, fingerprint=fingerprint, state=IN_PROGRESS)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    return inserted is not None


async def lock(session: AsyncSession, account_id: uuid.UUID, key: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    return (await session.execute(stmt.with_for_update())).scalar_one_or_none()


async def restart(session: AsyncSession, row: IdempotencyKey, fingerprint: str) -> None:
    now = utcnow()
    row.fingerprint, row.state, row.created_at, row.locked_at = fingerprint, IN_PROGRESS, now, now
    row.response_status = row.response_body = None


async def finish(session: AsyncSession, account_id: uuid.UUID, key: str, status: int, body: bytes) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
        .values(state=DONE, response_status=status, response_body=body)
    )


async def remove(session: AsyncSession, account_id: uuid.UUID, key: str) -> None:
    await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    )


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
