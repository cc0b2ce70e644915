"""SQL for accounts and API keys."""

import uuid
from typing import Any

from sqlalchemy import Row, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models import Account, ApiKey


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(Account.id).where(func.lower(Account.email) == email.lower()))
    return found is not None


# Built once: every authenticated request runs it. The columns the caller needs, not two ORM rows.
_ACTIVE_KEY = (
    select(
        ApiKey.id.label("key_id"),
        ApiKey.mode,
        Account.id.label("account_id"),
        Account.email,
        Account.rate_limit,
        Account.credit_balance,
        Account.test_credit_balance,
        # The key's mode's webhook targets: a test key's orders go to test mode's.
        case((ApiKey.mode == "test", Account.test_webhook_url), else_=Account.webhook_url).label(
            "webhook_url"
        ),
        case(
            (ApiKey.mode == "test", Account.test_discord_webhook_url), else_=Account.discord_webhook_url
        ).label("discord_webhook_url"),
        ApiKey.webhook_url.label("key_webhook_url"),
        ApiKey.discord_webhook_url.label("key_discord_webhook_url"),
    )
    .join(Account, Account.id == ApiKey.account_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.active.is_(True))
)


async def active_key_by_hash(session: AsyncSession, key_hash: str) -> Row[Any] | None:
    """The key's id, mode and webhook targets, and its account's id, email, rate limit, both
    balances and webhook targets."""
    return (await session.execute(_ACTIVE_KEY, {"key_hash": key_hash})).one_or_none()


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
