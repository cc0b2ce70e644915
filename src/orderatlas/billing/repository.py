"""SQL for the credit balance and ledger. The balance only moves together with a ledger row."""

import uuid

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models import Account, CreditTransaction


async def add_to_balance(session: AsyncSession, account_id: uuid.UUID, amount: int) -> int | None:
    """Move the balance by `amount`; a debit only happens if it cannot go negative.

    Returns the new balance, or None when the account could not cover a debit.
    """
    stmt = update(Account).where(Account.id == account_id)
    if amount < 0:
        stmt = stmt.where(Account.credit_balance >= -amount)
    new_balance = await session.scalar(
        stmt.values(credit_balance=Account.credit_balance + amount).returning(Account.credit_balance)
    )
    return None if new_balance is None else int(new_balance)


async def insert_entry(
    session: AsyncSession,
    account_id: uuid.UUID,
    amount: int,
    type_: str,
    description: str,
    order_id: uuid.UUID | None,
) -> None:
    await session.execute(
        insert(CreditTransaction).values(
            id=uuid.uuid4(),
            account_id=account_id,
            amount=amount,
            type=type_,
            description=description,
            order_id=order_id,
        )
    )


async def insert_entry_once(
    session: AsyncSession,
    account_id: uuid.UUID,
    amount: int,
    type_: str,
    description: str,
    order_id: uuid.UUID,
) -> bool:
    """Insert unless this order already has an entry of this type (a unique partial index says so)."""
    inserted = await session.scalar(
        pg_insert(CreditTransaction)
        .values(
            id=uuid.uuid4(),
            account_id=account_id,
            amount=amount,
            type=type_,
            description=description,
            order_id=order_id,
        )
        .on_conflict_do_nothing()
        .returning(CreditTransaction.id)
    )
    return inserted is not None


async def current_balance(session: AsyncSession, account_id: uuid.UUID) -> int:
    value = await session.scalar(select(Account.credit_balance).where(Account.id == account_id))
    return int(value or 0)
