"""SQL for orders, their items and their status history."""

import uuid
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orderatlas.kit.schemas import storable
from orderatlas.models import Order, OrderEvent
from orderatlas.orders import statuses as st


def _parse_uuid(reference: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(reference)
    except ValueError:
        return None


async def find_for_account(
    session: AsyncSession, account_id: uuid.UUID, test_mode: bool, reference: str, *, for_update: bool = False
) -> Order | None:
    """By OrderAtlas id or by the retailer's platform_order_id; only the account's own orders, and
    only those placed in the caller key's mode (test keys see sandbox orders, live keys live ones)."""
    if not storable(reference):
        return None
    order_id = _parse_uuid(reference)
    stmt = (
        select(Order)
        .where(Order.account_id == account_id, Order.test_mode.is_(test_mode))
        .options(selectinload(Order.items))
    )
    if order_id is not None:
        stmt = stmt.where(Order.id == order_id)
    else:
        stmt = stmt.where(Order.platform_order_id == reference, Order.platform_order_id != "")
    stmt = stmt.order_by(Order.created_at.desc()).limit(1)
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    stmt = (
        select(Order).where(Order.id == order_id).options(selectinload(Order.items)).with_for_update(of=Order)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def add_event(session: AsyncSession, order: Order, previous_status: str | None) -> None:
    session.add(OrderEvent(order_id=order.id, previous_status=previous_status, status=order.status))


async def delete_order(session: AsyncSession, order: Order) -> None:
    await session.execute(delete(Order).where(Order.id == order.id))


async def stale_in_flight(
    session: AsyncSession, processing_cutoff: datetime, pending_cutoff: datetime, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """Orders processing since before one cutoff or pending since before the other, oldest first."""
    stmt = (
        select(Order.id, Order.status)
        .where(
            or_(
                and_(Order.status == st.PROCESSING, Order.processing_started_at < processing_cutoff),
                and_(Order.status == st.PENDING, Order.created_at < pending_cutoff),
            )
        )
        .order_by(Order.created_at)
        .limit(limit)
    )
    return [(row.id, row.status) for row in await session.execute(stmt)]
