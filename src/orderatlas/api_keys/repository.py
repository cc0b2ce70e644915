"""SQL for API keys."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models import ApiKey


async def page(
    session: AsyncSession, account_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    total = await session.scalar(select(func.count()).where(ApiKey.account_id == account_id))
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.account_id == account_id)
        .order_by(ApiKey.created_at, ApiKey.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def lock(session: AsyncSession, account_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.id == key_id, ApiKey.account_id == account_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_active(session: AsyncSession, account_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(ApiKey.account_id == account_id, ApiKey.active.is_(True))
    return int(await session.scalar(stmt) or 0)
