"""Shared steps of the conversion tests: placed orders, polls on a moved clock, what was recorded."""

import uuid
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.conversion import poller
from orderatlas.db import unit_of_work
from orderatlas.models import ApiKey, CreditTransaction, Order, TrackingLabel, WebhookEvent
from orderatlas.models.credit import CONVERSION_DEBIT
from tests.conftest import Clock, WorkerRunner
from tests.factories import SellerAccount, order_in


async def placed(
    sessionmaker: async_sessionmaker[AsyncSession],
    seller: SellerAccount,
    status: str = "confirmed",
    **fields: Any,
) -> str:
    """A confirmed sandbox order with the test key as its key, as a checkout leaves it."""
    async with sessionmaker() as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.account_id == uuid.UUID(seller.account_id), ApiKey.mode == "test")
        )
    fields.setdefault("api_key_id", key_id)
    return await order_in(sessionmaker, seller, status, **fields)


async def poll(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    worker: WorkerRunner,
    settings: Settings,
    clock: Clock,
) -> int:
    """One poll a whole interval after the last, then the real worker runs the jobs it queued."""
    clock.advance(settings.conversion_poll_s * 1.25 + 1)
    async with unit_of_work(sessionmaker, redis) as session:
        queued = await poller.queue_due(session, clock(), settings)
    await worker.run(clock=clock)
    return queued


async def order_row(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> Order:
    async with sessionmaker() as session:
        order = await session.get(Order, uuid.UUID(order_id))
        assert order is not None
        return order


async def events(
    sessionmaker: async_sessionmaker[AsyncSession], order_id: str, name: str
) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(WebhookEvent.payload)
            .where(WebhookEvent.order_id == uuid.UUID(order_id), WebhookEvent.event == name)
            .order_by(WebhookEvent.created_at)
        )
        return list(rows)


async def debits(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> list[tuple[int, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(CreditTransaction.amount, CreditTransaction.reference)
            .where(
                CreditTransaction.order_id == uuid.UUID(order_id), CreditTransaction.type == CONVERSION_DEBIT
            )
            .order_by(CreditTransaction.seq)
        )
        return [(row[0], row[1]) for row in rows]


async def labels(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> list[TrackingLabel]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(TrackingLabel)
            .where(TrackingLabel.order_id == uuid.UUID(order_id))
            .order_by(TrackingLabel.created_at)
        )
        return list(rows)


async def balance(sessionmaker: async_sessionmaker[AsyncSession], seller: SellerAccount) -> int:
    from orderatlas.models import Account

    async with sessionmaker() as session:
        value = await session.scalar(
            select(Account.test_credit_balance).where(Account.id == uuid.UUID(seller.account_id))
        )
        ledger = await session.scalar(
            select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
                CreditTransaction.account_id == uuid.UUID(seller.account_id),
                CreditTransaction.test_mode.is_(True),
            )
        )
    assert value == ledger, "the balance moved without its ledger row"
    return int(value or 0)
