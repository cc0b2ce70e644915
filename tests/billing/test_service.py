"""Credits move only through ledger rows, never below zero, and an order is refunded at most once."""

import uuid

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.billing import service as billing
from orderatlas.db import unit_of_work
from orderatlas.errors import InsufficientCredits
from orderatlas.models import Account, CreditTransaction, Order
from tests.factories import AccountFactory

pytestmark = pytest.mark.asyncio


async def _order_for(session: AsyncSession, account_id: uuid.UUID) -> uuid.UUID:
    order_id = uuid.uuid4()
    await session.execute(
        insert(Order).values(
            id=order_id,
            account_id=account_id,
            test_mode=True,
            retailer="sandbox",
            platform="AmazonUS",
            status="failed",
            multi_item=False,
            asin="B09V3KXJPB",
            quantity=1,
            account_email="b@example.com",
            shipping_address={},
            notes=[],
            credits_charged=2,
            logged_in=False,
            checkout_attempts=0,
            auto_subscribe_save=False,
            subscription_canceled=False,
            gift=False,
        )
    )
    return order_id


async def _balance_and_ledger_sum(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> tuple[int, int]:
    async with sessionmaker() as session:
        balance = await session.scalar(select(Account.credit_balance).where(Account.id == account_id))
        total = await session.scalar(
            select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
                CreditTransaction.account_id == account_id
            )
        )
    return int(balance or 0), int(total or 0)


async def test_refund_happens_once_however_often_it_is_asked(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(credits=10)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await _order_for(session, account_id)
        await billing.debit_for_order(session, account_id, order_id, 2)
    results = []
    for _ in range(3):
        async with unit_of_work(sessionmaker, None) as session:
            results.append(await billing.refund_order(session, account_id, order_id, 2, "TEST"))
    assert results == [True, False, False]
    assert await _balance_and_ledger_sum(sessionmaker, account_id) == (10, 10)


async def test_debit_never_takes_the_balance_below_zero(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(credits=3)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        assert (
            await billing.debit_for_order(session, account_id, await _order_for(session, account_id), 2) == 1
        )
    with pytest.raises(InsufficientCredits, match="have 1, need 2"):
        async with unit_of_work(sessionmaker, None) as session:
            await billing.debit_for_order(session, account_id, await _order_for(session, account_id), 2)
    assert await _balance_and_ledger_sum(sessionmaker, account_id) == (1, 1)


async def test_the_database_refuses_a_negative_balance(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(credits=1)
    with pytest.raises(IntegrityError, match="credit_balance_not_negative"):
        async with unit_of_work(sessionmaker, None) as session:
            await session.execute(
                update(Account).where(Account.id == uuid.UUID(seller.account_id)).values(credit_balance=-1)
            )


async def test_initial_credits_are_a_ledger_row(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(credits=25)
    assert await _balance_and_ledger_sum(sessionmaker, uuid.UUID(seller.account_id)) == (25, 25)
