"""orders.repository.lock reads the order afresh after waiting for its lock: its lines too.

The lock joins what the checkout needs into one statement (issue 8). PostgreSQL re-reads only the
locked row after a wait; anything else joined in comes from the snapshot taken before the wait,
so lines read in that statement would be what they were before the lock holder's commit.
"""

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orderatlas.models import OrderItem
from orderatlas.orders import repository
from tests.factories import AccountFactory, legacy_order
from tests.orders.test_checkout import place

pytestmark = pytest.mark.asyncio


async def _wait_until_blocked(engine: AsyncEngine, pid: int) -> None:
    """Poll (deadline 10 s) until backend `pid` waits on a row lock."""
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        async with engine.connect() as conn:
            waiting = await conn.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second lock never waited")


async def test_lines_read_with_the_lock_are_the_lock_holders_committed_ones(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = uuid.UUID(await place(client, seller, legacy_order()))

    async with sessionmaker() as holder, sessionmaker() as waiter:
        assert await repository.lock(holder, order_id) is not None
        await holder.execute(
            update(OrderItem)
            .where(OrderItem.order_id == order_id)
            .values(outcome="purchased", seller="Amazon")
        )
        waiter_pid = int(await waiter.scalar(text("SELECT pg_backend_pid()")) or 0)
        locking = asyncio.create_task(repository.lock(waiter, order_id))
        await _wait_until_blocked(engine, waiter_pid)
        await holder.commit()
        locked = await locking
        assert locked is not None
        assert [(item.outcome, item.seller) for item in locked.items] == [("purchased", "Amazon")]
        await waiter.rollback()
