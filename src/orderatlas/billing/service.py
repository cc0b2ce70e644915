"""Credit rules: grants, the conditional debit for an order, and its refund, exactly once."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.billing import repository
from orderatlas.errors import InsufficientCredits
from orderatlas.models.credit import DEPOSIT, ORDER_DEBIT, ORDER_REFUND


async def grant(session: AsyncSession, account_id: uuid.UUID, credits: int, description: str) -> int:
    new_balance = await repository.add_to_balance(session, account_id, credits)
    assert new_balance is not None
    await repository.insert_entry(session, account_id, credits, DEPOSIT, description, None)
    return new_balance


async def debit_for_order(
    session: AsyncSession, account_id: uuid.UUID, order_id: uuid.UUID, cost: int
) -> int:
    """Charge an order's placement. Raises 402 and changes nothing when the balance is short."""
    new_balance = await repository.add_to_balance(session, account_id, -cost)
    if new_balance is None:
        raise InsufficientCredits(have=await repository.current_balance(session, account_id), need=cost)
    inserted = await repository.insert_entry_once(
        session, account_id, -cost, ORDER_DEBIT, f"Order placement: {order_id}", order_id
    )
    assert inserted, "an order is debited once, at creation"
    return new_balance


async def refund_order(
    session: AsyncSession, account_id: uuid.UUID, order_id: uuid.UUID, amount: int, reason: str
) -> bool:
    """Give an order's credits back once; a second call for the same order does nothing."""
    if amount <= 0:
        return False
    if not await repository.insert_entry_once(
        session, account_id, amount, ORDER_REFUND, f"Refund for order {order_id}: {reason}", order_id
    ):
        return False
    await repository.add_to_balance(session, account_id, amount)
    return True


current_balance = repository.current_balance
