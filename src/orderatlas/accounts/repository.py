"""SQL for accounts and API keys."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models import Account, ApiKey


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(Account.id).where(func.lower(Account.email) == email.lower()))
    return found is not None


async def active_key_by_hash(session: AsyncSession, key_hash: str) -> tuple[ApiKey, Account] | None:
    row = (
        await session.execute(
            select(ApiKey, Account)
            .join(Account, Account.id == ApiKey.account_id)
            .where(ApiKey.key_hash == key_hash, ApiKey.active.is_(True))
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def account_by_email(session: AsyncSession, email: str, *, for_update: bool = False) -> Account | None:
    stmt = select(Account).where(func.lower(Account.email) == email.lower())
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def keys_of(session: AsyncSession, account_id: uuid.UUID) -> list[ApiKey]:
    return list(
        await session.scalars(
            select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.created_at)
        )
    )
