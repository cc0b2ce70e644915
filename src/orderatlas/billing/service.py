"""Credit rules: debits that cannot overspend, refunds and deposits exactly once, per mode.

Live and test mode are separate balances. Every function takes the mode explicitly, so a caller
can never spend or earn in the wrong one by leaving it out.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.billing import repository
from orderatlas.billing.repository import Entry, HistoryFilter
from orderatlas.config import Settings
from orderatlas.errors import BadRequest, InsufficientCredits, NotFound
from orderatlas.models import CreditTransaction
from orderatlas.models.credit import ADJUSTMENT, DEPOSIT, ORDER_DEBIT, ORDER_REFUND
from orderatlas.observability import metrics as m


@dataclass(frozen=True)
class Costs:
    order_placement: int
    tracking_conversion: int
    order_import: int


def costs(settings: Settings) -> Costs:
    """The price list, from the one place every charge reads it."""
    return Costs(
        order_placement=settings.cost_order_placement,
        tracking_conversion=settings.cost_tracking_conversion,
        order_import=settings.cost_order_import,
    )


async def current_balance(session: AsyncSession, account_id: uuid.UUID, *, test_mode: bool) -> int:
    return await repository.current_balance(session, account_id, test_mode=test_mode)


@dataclass(frozen=True)
class Balance:
    credit_balance: int
    credits_owed: int


async def balance(session: AsyncSession, account_id: uuid.UUID, *, test_mode: bool) -> Balance:
    """One mode's balance and the credits refunded top-ups still owe, from one read."""
    return Balance(*await repository.balance_and_owed(session, account_id, test_mode=test_mode))


async def charge(
    session: AsyncSession,
    account_id: uuid.UUID,
    cost: int,
    type_: str,
    description: str,
    *,
    test_mode: bool,
    order_id: uuid.UUID | None = None,
    reference: str = "",
) -> int:
    """Debit `cost`, once per order and type (and `reference`, for conversions: once per label),
    and return the balance left.

    The ledger row goes in first (ON CONFLICT DO NOTHING against the per-order unique indexes) and
    the balance moves only if it did, so a job re-run after a crash charges nothing the second
    time. The debit is one conditional UPDATE: short of credits, it is 402 and leaves no row. A
    cost of 0 writes no row. Imports and conversions charge here.
    """
    if cost <= 0:
        return await repository.current_balance(session, account_id, test_mode=test_mode)
    entry = Entry(account_id, test_mode, -cost, type_, description, order_id=order_id, reference=reference)
    # One statement, one round trip: the account's row lock is held from here to the commit.
    entry_id, new_balance = await repository.insert_entry_once_and_debit(session, entry, cost)
    if entry_id is None:  # charged before
        return await repository.current_balance(session, account_id, test_mode=test_mode)
    if new_balance is None:
        # Not committed, so never seen: the ledger stays append-only for everyone else. A caller
        # that carries on after the 402 (a job skipping what it can't pay for) keeps no stray row.
        await repository.delete_uncommitted_entry(session, entry_id)
        have = await repository.current_balance(session, account_id, test_mode=test_mode)
        raise InsufficientCredits(have=have, need=cost)
    m.after_commit(session, lambda: m.CREDITS_DEBITED.labels(m.mode(test_mode), type_).inc(cost))
    return new_balance


async def give_back(
    session: AsyncSession,
    account_id: uuid.UUID,
    amount: int,
    type_: str,
    description: str,
    *,
    test_mode: bool,
    order_id: uuid.UUID,
) -> bool:
    """Return credits once: a unique index on (order, type) makes a second call do nothing."""
    if amount <= 0:
        return False
    entry = Entry(account_id, test_mode, amount, type_, description, order_id=order_id)
    if not await repository.insert_entry_once(session, entry):
        return False
    await repository.add_to_balance(session, account_id, amount, test_mode=test_mode)
    m.after_commit(session, lambda: m.CREDITS_REFUNDED.labels(m.mode(test_mode), type_).inc(amount))
    return True


async def debit_for_order(
    session: AsyncSession, account_id: uuid.UUID, order_id: uuid.UUID, cost: int, *, test_mode: bool
) -> int:
    """Charge an order's placement, in the mode of the key that placed it."""
    return await charge(
        session,
        account_id,
        cost,
        ORDER_DEBIT,
        f"Order placement: {order_id}",
        test_mode=test_mode,
        order_id=order_id,
    )


async def give_back_debit(
    session: AsyncSession, order_id: uuid.UUID, debit_type: str, refund_type: str, description: str
) -> bool:
    """Give back, once, what the order's debit of `debit_type` took, to the balance it was taken
    from: the debit row's account, mode and amount, never the order's own flag, because orders
    debited before revision 0004 took a test key's credits from the live balance."""
    debit = await repository.debit_of(session, order_id, debit_type)
    if debit is None:  # never charged (a cost of 0): nothing to give back
        return False
    return await give_back(
        session,
        debit.account_id,
        -debit.amount,
        refund_type,
        description,
        test_mode=debit.test_mode,
        order_id=order_id,
    )


async def refund_order(session: AsyncSession, order_id: uuid.UUID, reason: str) -> bool:
    """Give an order's placement credits back once; a second call for the same order does nothing."""
    description = f"Order refund: {order_id} ({reason})" if reason else f"Order refund: {order_id}"
    return await give_back_debit(session, order_id, ORDER_DEBIT, ORDER_REFUND, description)


async def grant(
    session: AsyncSession, account_id: uuid.UUID, credits: int, description: str, *, test_mode: bool
) -> int:
    """Credits given, not bought (an account's starting credits): an adjustment row."""
    await repository.insert_entry(session, Entry(account_id, test_mode, credits, ADJUSTMENT, description))
    new_balance = await repository.add_to_balance(session, account_id, credits, test_mode=test_mode)
    if new_balance is None:
        raise NotFound(f"no account {account_id}")
    return new_balance


async def adjust(
    session: AsyncSession, account_id: uuid.UUID, amount: int, reason: str, *, test_mode: bool
) -> int:
    """An operator's correction, up or down; refused (400) if it would take the balance below zero."""
    if amount == 0:
        raise BadRequest("an adjustment must move the balance: amount 0", code="invalid_amount")
    new_balance = await repository.add_to_balance(session, account_id, amount, test_mode=test_mode)
    if new_balance is None:
        have = await repository.current_balance(session, account_id, test_mode=test_mode)
        raise BadRequest(
            f"the balance is {have}: an adjustment of {amount} would take it below zero",
            code="balance_too_low",
        )
    await repository.insert_entry(session, Entry(account_id, test_mode, amount, ADJUSTMENT, reason))
    return new_balance


async def deposit(
    session: AsyncSession, account_id: uuid.UUID, topup_id: uuid.UUID, credits: int, *, test_mode: bool
) -> int | None:
    """Credit a paid top-up once (None if it already was). What a refunded top-up left owing is
    taken from it first, as a second row, so the ledger still sums to the balance."""
    balance, owed = await repository.lock_balance(session, account_id, test_mode=test_mode)
    entry = Entry(account_id, test_mode, credits, DEPOSIT, f"Purchased {credits} credits", topup_id=topup_id)
    if not await repository.insert_entry_once(session, entry):
        return None
    recovered = min(owed, credits)
    if recovered:
        description = f"Recovered {recovered} credits owed from a refunded top-up"
        await repository.insert_entry(
            session, Entry(account_id, test_mode, -recovered, ADJUSTMENT, description)
        )
    balance += credits - recovered
    await repository.set_balance(
        session, account_id, test_mode=test_mode, balance=balance, owed=owed - recovered
    )
    return balance


async def take_back(
    session: AsyncSession, account_id: uuid.UUID, topup_id: uuid.UUID, credits: int, *, test_mode: bool
) -> tuple[int, int]:
    """A top-up was refunded: take its credits back, never below zero. What the balance cannot
    cover is recorded as owed. Returns (taken now, newly owed)."""
    balance, owed = await repository.lock_balance(session, account_id, test_mode=test_mode)
    taken = min(balance, credits)
    short = credits - taken
    if taken:
        description = f"Top-up refunded: {taken} credits taken back"
        if short:
            description += f"; {short} more owed, taken from the next deposit"
        entry = Entry(account_id, test_mode, -taken, ADJUSTMENT, description, topup_id=topup_id)
        await repository.insert_entry(session, entry)
    await repository.set_balance(
        session, account_id, test_mode=test_mode, balance=balance - taken, owed=owed + short
    )
    return taken, short


@dataclass(frozen=True)
class HistoryPage:
    rows: list[tuple[CreditTransaction, str]]  # each with its description as shown
    has_more: bool
    total: int


def describe(row: CreditTransaction, platform_order_id: str | None) -> str:
    """An order's row names the retailer's order id once it is known, and ours before."""
    if row.order_id is not None and platform_order_id:
        return row.description.replace(str(row.order_id), platform_order_id)
    return row.description


class InvalidCursor(BadRequest):
    code = "invalid_request"


async def history(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    test_mode: bool,
    type_: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    starting_after: uuid.UUID | None,
    limit: int,
    offset: int,
) -> HistoryPage:
    """One page of a mode's ledger, newest first, with the total for the filter."""
    where = HistoryFilter(account_id, test_mode, type_, created_after, created_before)
    before_seq = None
    if starting_after is not None:
        before_seq = await repository.cursor_seq(session, where, starting_after)
        if before_seq is None:
            raise InvalidCursor(f"starting_after: no transaction {starting_after} in this account and mode")
    rows = await repository.history(session, where, before_seq=before_seq, limit=limit + 1, offset=offset)
    return HistoryPage(
        rows=[(row, describe(row, platform_id)) for row, platform_id in rows[:limit]],
        has_more=len(rows) > limit,
        total=await repository.count(session, where),
    )
