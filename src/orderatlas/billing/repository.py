"""SQL for the balances and the ledger. A balance only moves together with a ledger row of its mode."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models import (
    Account,
    CreditTopup,
    CreditTransaction,
    Order,
    StripeEvent,
    StripeHeldRefund,
)
from orderatlas.models.base import utcnow


def _balance(test_mode: bool) -> Any:
    return Account.test_credit_balance if test_mode else Account.credit_balance


def _owed(test_mode: bool) -> Any:
    return Account.test_credits_owed if test_mode else Account.credits_owed


async def add_to_balance(
    session: AsyncSession, account_id: uuid.UUID, amount: int, *, test_mode: bool
) -> int | None:
    """Move one mode's balance by `amount`; a debit only happens if it cannot go negative.

    Returns the new balance, or None when the account could not cover a debit.
    """
    column = _balance(test_mode)
    stmt = update(Account).where(Account.id == account_id)
    if amount < 0:
        stmt = stmt.where(column >= -amount)
    new_balance = await session.scalar(stmt.values({column: column + amount}).returning(column))
    return None if new_balance is None else int(new_balance)


@dataclass(frozen=True)
class Entry:
    account_id: uuid.UUID
    test_mode: bool
    amount: int
    type: str
    description: str
    order_id: uuid.UUID | None = None
    topup_id: uuid.UUID | None = None
    reference: str = ""  # what the row pays for within its order (a conversion's label number)

    def values(self) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "account_id": self.account_id,
            "test_mode": self.test_mode,
            "amount": self.amount,
            "type": self.type,
            "description": self.description[:500],
            "order_id": self.order_id,
            "topup_id": self.topup_id,
            "reference": self.reference[:100],
        }


async def insert_entry(session: AsyncSession, entry: Entry) -> None:
    await session.execute(insert(CreditTransaction).values(entry.values()))


async def insert_entry_once(session: AsyncSession, entry: Entry) -> uuid.UUID | None:
    """Insert unless a unique partial index already holds this row (one debit or refund of each
    kind per order, one deposit per top-up). The new row's id, or None."""
    inserted: uuid.UUID | None = await session.scalar(
        pg_insert(CreditTransaction)
        .values(entry.values())
        .on_conflict_do_nothing()
        .returning(CreditTransaction.id)
    )
    return inserted


async def insert_entry_once_and_debit(
    session: AsyncSession, entry: Entry, cost: int
) -> tuple[uuid.UUID | None, int | None]:
    """insert_entry_once, then add_to_balance(-cost) only if the row went in, in one statement.

    Returns (the new row's id or None when it was there already, the new balance or None when
    the row was there already or the balance could not cover the cost)."""
    column = _balance(entry.test_mode)
    entry_cte = (
        pg_insert(CreditTransaction)
        .values({**entry.values(), "created_at": utcnow()})  # a CTE's INSERT gets no Python defaults
        .on_conflict_do_nothing()
        .returning(CreditTransaction.id)
        .cte("entry")
    )
    debit_cte = (
        update(Account)
        .where(Account.id == entry.account_id, column >= cost, exists(select(entry_cte.c.id)))
        .values({column: column - cost})
        .returning(column)
        .cte("debit")
    )
    row = (
        await session.execute(
            select(
                select(entry_cte.c.id).scalar_subquery().label("entry_id"),
                select(debit_cte.c[column.key]).scalar_subquery().label("balance"),
            )
        )
    ).one()
    return row.entry_id, None if row.balance is None else int(row.balance)


async def delete_uncommitted_entry(session: AsyncSession, entry_id: uuid.UUID) -> None:
    """Only for a row this transaction inserted and is taking back before anyone could see it."""
    await session.execute(delete(CreditTransaction).where(CreditTransaction.id == entry_id))


@dataclass(frozen=True)
class Debit:
    account_id: uuid.UUID
    test_mode: bool
    amount: int  # negative


async def debit_of(session: AsyncSession, order_id: uuid.UUID, type_: str) -> Debit | None:
    """The order's one debit of this type. The type is written into the SQL, not bound, so that
    even a prepared statement's generic plan can use the type's partial unique index."""
    row = (
        await session.execute(
            select(CreditTransaction.account_id, CreditTransaction.test_mode, CreditTransaction.amount).where(
                CreditTransaction.order_id == order_id,
                CreditTransaction.type == bindparam("debit_type", type_, literal_execute=True),
            )
        )
    ).one_or_none()
    return None if row is None else Debit(row[0], row[1], int(row[2]))


async def current_balance(session: AsyncSession, account_id: uuid.UUID, *, test_mode: bool) -> int:
    value = await session.scalar(select(_balance(test_mode)).where(Account.id == account_id))
    return int(value or 0)


async def lock_balance(session: AsyncSession, account_id: uuid.UUID, *, test_mode: bool) -> tuple[int, int]:
    """(balance, owed) of one mode, with the account row locked until the transaction ends."""
    row = (
        await session.execute(
            select(_balance(test_mode), _owed(test_mode)).where(Account.id == account_id).with_for_update()
        )
    ).one()
    return int(row[0]), int(row[1])


async def set_balance(
    session: AsyncSession, account_id: uuid.UUID, *, test_mode: bool, balance: int, owed: int
) -> None:
    """Only after lock_balance: the values were computed from the locked row."""
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values({_balance(test_mode): balance, _owed(test_mode): owed})
    )


async def balance_and_owed(
    session: AsyncSession, account_id: uuid.UUID, *, test_mode: bool
) -> tuple[int, int]:
    """One mode's balance and what it owes, read together (one snapshot, one round trip)."""
    row = (
        await session.execute(select(_balance(test_mode), _owed(test_mode)).where(Account.id == account_id))
    ).one_or_none()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


@dataclass(frozen=True)
class HistoryFilter:
    account_id: uuid.UUID
    test_mode: bool
    type: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def _filtered(stmt: Any, where: HistoryFilter) -> Any:
    stmt = stmt.where(
        CreditTransaction.account_id == where.account_id, CreditTransaction.test_mode == where.test_mode
    )
    if where.type is not None:
        stmt = stmt.where(CreditTransaction.type == where.type)
    if where.created_after is not None:
        stmt = stmt.where(CreditTransaction.created_at > where.created_after)
    if where.created_before is not None:
        stmt = stmt.where(CreditTransaction.created_at < where.created_before)
    return stmt


async def cursor_seq(session: AsyncSession, where: HistoryFilter, transaction_id: uuid.UUID) -> int | None:
    """The position of a transaction of this account and mode, or None (unknown, or not theirs)."""
    value = await session.scalar(
        select(CreditTransaction.seq).where(
            CreditTransaction.id == transaction_id,
            CreditTransaction.account_id == where.account_id,
            CreditTransaction.test_mode == where.test_mode,
        )
    )
    return None if value is None else int(value)


async def history(
    session: AsyncSession, where: HistoryFilter, *, before_seq: int | None, limit: int, offset: int
) -> list[tuple[CreditTransaction, str | None]]:
    """Newest first, each row with its order's platform_order_id (None when there is no order)."""
    stmt = _filtered(
        select(CreditTransaction, Order.platform_order_id).outerjoin(
            Order, Order.id == CreditTransaction.order_id
        ),
        where,
    )
    if before_seq is not None:
        stmt = stmt.where(CreditTransaction.seq < before_seq)
    stmt = stmt.order_by(CreditTransaction.seq.desc()).limit(limit).offset(offset)
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def count(session: AsyncSession, where: HistoryFilter) -> int:
    return int(
        await session.scalar(_filtered(select(func.count()).select_from(CreditTransaction), where)) or 0
    )


async def store_event_once(
    session: AsyncSession, event_id: str, type_: str, test_mode: bool, object_id: str
) -> bool:
    """Record a Stripe event by its id. False: it was seen before (a concurrent twin waits here
    on the primary key until the first commits, then finds it)."""
    inserted = await session.scalar(
        pg_insert(StripeEvent)
        .values(id=event_id, type=type_, test_mode=test_mode, object_id=object_id[:255], outcome="")
        .on_conflict_do_nothing(index_elements=[StripeEvent.id])
        .returning(StripeEvent.id)
    )
    return inserted is not None


async def set_event_outcome(session: AsyncSession, event_id: str, outcome: str) -> None:
    await session.execute(update(StripeEvent).where(StripeEvent.id == event_id).values(outcome=outcome[:200]))


async def add_topup(session: AsyncSession, topup: CreditTopup) -> None:
    session.add(topup)
    await session.flush()


async def add_topup_once(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    test_mode: bool,
    credits: int,
    amount_cents: int,
    currency: str,
    stripe_session_id: str,
) -> CreditTopup:
    """Record a Stripe session unless it already is; either way, its row (locked)."""
    await session.execute(
        pg_insert(CreditTopup)
        .values(
            id=uuid.uuid4(),
            account_id=account_id,
            test_mode=test_mode,
            credits=credits,
            amount_cents=amount_cents,
            currency=currency,
            stripe_session_id=stripe_session_id,
        )
        .on_conflict_do_nothing(index_elements=[CreditTopup.stripe_session_id])
    )
    stmt = select(CreditTopup).where(CreditTopup.stripe_session_id == stripe_session_id).with_for_update()
    return (await session.scalars(stmt)).one()


async def topup_by_session(session: AsyncSession, stripe_session_id: str) -> CreditTopup | None:
    """Locked: the two completion events of one session are handled one after the other."""
    return await session.scalar(
        select(CreditTopup).where(CreditTopup.stripe_session_id == stripe_session_id).with_for_update()
    )


async def topup_by_payment_intent(session: AsyncSession, payment_intent_id: str) -> CreditTopup | None:
    return await session.scalar(
        select(CreditTopup).where(CreditTopup.stripe_payment_intent_id == payment_intent_id).with_for_update()
    )


# Two-key advisory locks live apart from one-key ones (migrate.py's), so this class id is ours.
_PAYMENT_LOCK_CLASS = 0x0A7110


async def lock_payment(session: AsyncSession, payment_intent_id: str) -> None:
    """Serialise every event about one payment until the transaction ends: a refund and the
    completion it refunds, handled at once, must each see what the other did."""
    await session.execute(
        select(func.pg_advisory_xact_lock(_PAYMENT_LOCK_CLASS, func.hashtext(payment_intent_id)))
    )


async def hold_refund(
    session: AsyncSession, payment_intent_id: str, *, test_mode: bool, amount: int, refunded: int
) -> None:
    """Keep the largest refunded total reported for a payment we have not credited (yet)."""
    stmt = pg_insert(StripeHeldRefund).values(
        payment_intent_id=payment_intent_id[:255],
        test_mode=test_mode,
        amount=amount,
        amount_refunded=refunded,
        received_at=utcnow(),
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[StripeHeldRefund.payment_intent_id],
            set_={
                "amount": stmt.excluded.amount,
                "amount_refunded": func.greatest(
                    StripeHeldRefund.amount_refunded, stmt.excluded.amount_refunded
                ),
            },
        )
    )


async def take_held_refund(
    session: AsyncSession, payment_intent_id: str, *, test_mode: bool
) -> tuple[int, int] | None:
    """(charge amount, refunded so far) of a refund held for this payment, which is then gone."""
    row = (
        await session.execute(
            delete(StripeHeldRefund)
            .where(
                StripeHeldRefund.payment_intent_id == payment_intent_id,
                StripeHeldRefund.test_mode == test_mode,
            )
            .returning(StripeHeldRefund.amount, StripeHeldRefund.amount_refunded)
        )
    ).one_or_none()
    return None if row is None else (int(row[0]), int(row[1]))


async def account_exists(session: AsyncSession, account_id: uuid.UUID) -> bool:
    return await session.scalar(select(Account.id).where(Account.id == account_id)) is not None
