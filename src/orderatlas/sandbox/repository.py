"""SQL for the sandbox's purchase history, seen through one account's orders."""

import uuid

from sqlalchemy import cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from orderatlas.models import Order, SandboxPurchase


def _of_account(account_id: uuid.UUID, order_id: uuid.UUID | None):  # type: ignore[no-untyped-def]
    orders = select(cast(Order.id, String)).where(Order.account_id == account_id)
    if order_id is not None:
        orders = orders.where(Order.id == order_id)
    return SandboxPurchase.order_reference.in_(orders.scalar_subquery())


async def list_for_account(
    session: AsyncSession, account_id: uuid.UUID, order_id: uuid.UUID | None, limit: int, offset: int
) -> tuple[list[SandboxPurchase], int]:
    where = _of_account(account_id, order_id)
    total = await session.scalar(select(func.count()).select_from(SandboxPurchase).where(where))
    rows = await session.scalars(
        select(SandboxPurchase)
        .where(where)
        .order_by(SandboxPurchase.created_at.desc(), SandboxPurchase.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)
