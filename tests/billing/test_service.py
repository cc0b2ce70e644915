"""Credits move only through ledger rows of their mode, never below zero, and exactly once."""

import uuid

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.billing import service as billing
from orderatlas.db import unit_of_work
from orderatlas.errors import BadRequest, InsufficientCredits
from orderatlas.models import Account, CreditTopup, CreditTransaction, Order
from orderatlas.models.credit import CONVERSION_DEBIT, CONVERSION_REFUND, IMPORT_DEBIT, ORDER_DEBIT
from orderatlas.orders import service as orders
from tests.factories import AccountFactory

pytestmark = pytest.mark.asyncio


async def order_for(
    session: AsyncSession, account_id: uuid.UUID, *, test_mode: bool = True, status: str = "failed"
) -> uuid.UUID:
    order_id = uuid.uuid4()
    await session.execute(
        insert(Order).values(
            id=order_id,
            account_id=account_id,
            test_mode=test_mode,
            retailer="sandbox",
            platform="AmazonUS",
            status=status,
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


async def topup_for(
    session: AsyncSession, account_id: uuid.UUID, credits: int, *, test_mode: bool
) -> uuid.UUID:
    topup = CreditTopup(
        account_id=account_id,
        test_mode=test_mode,
        credits=credits,
        amount_cents=credits * 10,
        currency="usd",
        stripe_session_id=f"cs_{uuid.uuid4().hex}",
    )
    session.add(topup)
    await session.flush()
    return topup.id


async def balance_and_ledger_sum(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID, *, test_mode: bool = True
) -> tuple[int, int]:
    column = Account.test_credit_balance if test_mode else Account.credit_balance
    async with sessionmaker() as session:
        balance = await session.scalar(select(column).where(Account.id == account_id))
        total = await session.scalar(
            select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
                CreditTransaction.account_id == account_id, CreditTransaction.test_mode == test_mode
            )
        )
    return int(balance or 0), int(total or 0)


async def test_refund_happens_once_however_often_it_is_asked(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await order_for(session, account_id)
        await billing.debit_for_order(session, account_id, order_id, 2, test_mode=True)
    results = []
    for _ in range(3):
        async with unit_of_work(sessionmaker, None) as session:
            results.append(await billing.refund_order(session, order_id, "TEST"))
    assert results == [True, False, False]
    assert await balance_and_ledger_sum(sessionmaker, account_id) == (10, 10)


@pytest.mark.parametrize("type_", [ORDER_DEBIT, CONVERSION_DEBIT, IMPORT_DEBIT])
async def test_a_charge_for_an_order_is_made_once_however_often_it_is_asked(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession], type_: str
) -> None:
    seller = await accounts.create(test_credits=10)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await order_for(session, account_id)
    balances = []
    for _ in range(3):  # a job re-run by arq after a crash charges again
        async with unit_of_work(sessionmaker, None) as session:
            balances.append(
                await billing.charge(
                    session, account_id, 2, type_, "charge", test_mode=True, order_id=order_id
                )
            )
    assert balances == [8, 8, 8]
    assert await balance_and_ledger_sum(sessionmaker, account_id) == (8, 8)


async def test_a_conversion_refund_is_given_once_however_often_it_is_asked(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await order_for(session, account_id)
        await billing.charge(session, account_id, 1, CONVERSION_DEBIT, "c", test_mode=True, order_id=order_id)
    results = []
    for _ in range(3):
        async with unit_of_work(sessionmaker, None) as session:
            results.append(
                await billing.give_back(
                    session, account_id, 1, CONVERSION_REFUND, "r", test_mode=True, order_id=order_id
                )
            )
    assert results == [True, False, False]
    assert await balance_and_ledger_sum(sessionmaker, account_id) == (10, 10)


async def test_a_refused_charge_leaves_no_row_even_when_the_caller_carries_on(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=1)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await order_for(session, account_id)
        with pytest.raises(InsufficientCredits, match="have 1, need 2"):
            await billing.charge(
                session, account_id, 2, CONVERSION_DEBIT, "c", test_mode=True, order_id=order_id
            )
        # A job that skips what it can't pay for commits the rest of its work.
    assert await balance_and_ledger_sum(sessionmaker, account_id) == (1, 1)
    async with unit_of_work(sessionmaker, None) as session:
        await billing.adjust(session, account_id, 1, "top up", test_mode=True)
        assert (
            await billing.charge(
                session, account_id, 2, CONVERSION_DEBIT, "c", test_mode=True, order_id=order_id
            )
            == 0
        )
    assert await balance_and_ledger_sum(sessionmaker, account_id) == (0, 0)


async def test_an_order_debited_before_the_mode_split_is_refunded_where_it_was_debited(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=100, live_credits=10)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await order_for(session, account_id, test_mode=True, status="pending")
        # Before revision 0004 a test key's order was debited from the live balance.
        await billing.debit_for_order(session, account_id, order_id, 2, test_mode=False)
    async with unit_of_work(sessionmaker, None) as session:
        assert await orders.abandon_pending(session, order_id) is not None  # it fails after the upgrade
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=False) == (10, 10)
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=True) == (100, 100)


async def test_debit_never_takes_the_balance_below_zero(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=3)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await order_for(session, account_id)
        assert await billing.debit_for_order(session, account_id, order_id, 2, test_mode=True) == 1
    with pytest.raises(InsufficientCredits, match="have 1, need 2") as refused:
        async with unit_of_work(sessionmaker, None) as session:
            order_id = await order_for(session, account_id)
            await billing.debit_for_order(session, account_id, order_id, 2, test_mode=True)
    assert refused.value.extra == {"credits_remaining": 1}
    assert await balance_and_ledger_sum(sessionmaker, account_id) == (1, 1)


async def test_a_test_mode_debit_never_touches_the_live_balance(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=1, live_credits=100)
    account_id = uuid.UUID(seller.account_id)
    with pytest.raises(InsufficientCredits, match="have 1, need 2"):
        async with unit_of_work(sessionmaker, None) as session:
            order_id = await order_for(session, account_id)
            await billing.debit_for_order(session, account_id, order_id, 2, test_mode=True)
    async with unit_of_work(sessionmaker, None) as session:
        order_id = await order_for(session, account_id, test_mode=False)
        assert await billing.debit_for_order(session, account_id, order_id, 2, test_mode=False) == 98
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=True) == (1, 1)
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=False) == (98, 98)


async def test_the_database_refuses_a_negative_balance_in_either_mode(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=1)
    for column, constraint in (
        ("credit_balance", "credit_balance_not_negative"),
        ("test_credit_balance", "test_credit_balance_not_negative"),
        ("credits_owed", "credits_owed_not_negative"),
    ):
        with pytest.raises(IntegrityError, match=constraint):
            async with unit_of_work(sessionmaker, None) as session:
                await session.execute(
                    update(Account).where(Account.id == uuid.UUID(seller.account_id)).values({column: -1})
                )


async def test_starting_credits_are_ledger_rows_of_their_mode(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=25, live_credits=7)
    account_id = uuid.UUID(seller.account_id)
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=True) == (25, 25)
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=False) == (7, 7)


async def test_an_adjustment_never_goes_below_zero_and_is_a_row(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0, live_credits=5)
    account_id = uuid.UUID(seller.account_id)
    with pytest.raises(BadRequest, match="balance is 5: an adjustment of -6") as refused:
        async with unit_of_work(sessionmaker, None) as session:
            await billing.adjust(session, account_id, -6, "chargeback", test_mode=False)
    assert refused.value.code == "balance_too_low"
    async with unit_of_work(sessionmaker, None) as session:
        assert await billing.adjust(session, account_id, -5, "chargeback", test_mode=False) == 0
        assert await billing.adjust(session, account_id, 40, "goodwill", test_mode=False) == 40
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=False) == (40, 40)


async def test_a_top_up_is_deposited_once(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0, live_credits=3)
    account_id = uuid.UUID(seller.account_id)
    results = []
    async with unit_of_work(sessionmaker, None) as session:
        topup_id = await topup_for(session, account_id, 100, test_mode=False)
    for _ in range(2):
        async with unit_of_work(sessionmaker, None) as session:
            results.append(await billing.deposit(session, account_id, topup_id, 100, test_mode=False))
    assert results == [103, None]
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=False) == (103, 103)


async def test_what_a_refund_cannot_take_back_is_owed_and_taken_from_the_next_deposit(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0, live_credits=0)
    account_id = uuid.UUID(seller.account_id)
    async with unit_of_work(sessionmaker, None) as session:
        first = await topup_for(session, account_id, 100, test_mode=False)
        await billing.deposit(session, account_id, first, 100, test_mode=False)
        await billing.adjust(session, account_id, -70, "spent", test_mode=False)
        assert await billing.take_back(session, account_id, first, 100, test_mode=False) == (30, 70)
        assert await billing.current_balance(session, account_id, test_mode=False) == 0
        assert (await billing.balance(session, account_id, test_mode=False)).credits_owed == 70
    async with unit_of_work(sessionmaker, None) as session:
        small = await topup_for(session, account_id, 50, test_mode=False)
        assert await billing.deposit(session, account_id, small, 50, test_mode=False) == 0
        assert (await billing.balance(session, account_id, test_mode=False)).credits_owed == 20
        big = await topup_for(session, account_id, 100, test_mode=False)
        assert await billing.deposit(session, account_id, big, 100, test_mode=False) == 80
        assert (await billing.balance(session, account_id, test_mode=False)).credits_owed == 0
    assert await balance_and_ledger_sum(sessionmaker, account_id, test_mode=False) == (80, 80)
