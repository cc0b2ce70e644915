"""SQL for tracking conversion: labels, the poller's claim on due orders, the label refresh."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, case, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import INTERVAL
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.kit.claims import lease_due
from orderatlas.models import Account, ApiKey, Order, TrackingLabel
from orderatlas.models.conversion import ACTIVE
from orderatlas.orders import statuses as st
from orderatlas.retailers.marketplaces import MARKETPLACES

CONVERTIBLE_PLATFORMS = tuple(sorted(m.platform for m in MARKETPLACES.values() if m.aquiline))
# What the poller follows; the partial index ix_orders_conversion_due_at holds exactly these.
POLLED_STATUSES = tuple(sorted(st.PLACED_STATUSES | st.SHIPPING_STATUSES))


async def key_convert_tracking(session: AsyncSession, api_key_id: uuid.UUID | None) -> bool | None:
    if api_key_id is None:
        return None
    value: bool | None = await session.scalar(select(ApiKey.convert_tracking).where(ApiKey.id == api_key_id))
    return value


async def active_label(session: AsyncSession, order_id: uuid.UUID) -> TrackingLabel | None:
    stmt = select(TrackingLabel).where(TrackingLabel.order_id == order_id, TrackingLabel.state == ACTIVE)
    return (await session.execute(stmt)).scalar_one_or_none()


def _seconds(value: object) -> object:
    return cast(value, Float) * literal("1 second", INTERVAL)


@dataclass(frozen=True)
class Claimed:
    order_id: uuid.UUID
    first_sight: bool  # never seen before: only scheduled, at a random point of the interval


async def claim_due(
    session: AsyncSession, now: datetime, interval_s: float, terminal: tuple[str, ...], limit: int
) -> list[Claimed]:
    """Take up to `limit` due orders that should be converted and hold no label (never converted, or
    dropped), and schedule each one's next try (SKIP LOCKED: two pollers split the work; a convert
    in progress is skipped). Orders whose convert_tracking resolves to false are filtered here and
    never written or locked: the refresh sweep, which skips locked orders, must not lose them."""
    enabled = func.coalesce(Order.convert_tracking, ApiKey.convert_tracking, Account.convert_tracking)
    due = (
        select(Order.id, Order.conversion_due_at.is_(None).label("first"))
        .join(Account, Account.id == Order.account_id)
        .outerjoin(ApiKey, ApiKey.id == Order.api_key_id)
        .where(
            Order.aqualine_tracking.is_(None),
            Order.convert_tracking.is_not(False),
            Order.status.in_(POLLED_STATUSES),
            Order.platform.in_(CONVERTIBLE_PLATFORMS),
            (Order.conversion_due_at.is_(None)) | (Order.conversion_due_at <= now),
            (Order.aqualine_skip_reason.is_(None)) | (Order.aqualine_skip_reason.not_in(terminal)),
            enabled.is_(True),
        )
        .order_by(Order.conversion_due_at.asc().nulls_first())
        .limit(limit)
        .with_for_update(of=Order, skip_locked=True)
        # MATERIALIZED: PostgreSQL may run a LIMIT ... SKIP LOCKED subquery more than once inside
        # an UPDATE and claim more than `limit` rows (as orders/repository.py's refresh claim).
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    first_try = literal(now) + _seconds(func.random() * interval_s)
    next_try = literal(now) + _seconds((0.75 + func.random() * 0.5) * interval_s)
    stmt = (
        update(Order)
        .where(Order.id == due.c.id)
        # updated_at kept: scheduling changes nothing a client sees (GET /v1/orders?updated_after=).
        .values(conversion_due_at=case((due.c.first, first_try), else_=next_try), updated_at=Order.updated_at)
        .returning(Order.id, due.c.first)
        .execution_options(synchronize_session=False)
    )
    return [Claimed(row[0], bool(row[1])) for row in await session.execute(stmt)]


async def claim_due_labels(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[uuid.UUID]:
    """Labels whose refresh is due, leased so no other sweep takes them meanwhile (kit.claims)."""
    stmt = lease_due(TrackingLabel, TrackingLabel.next_refresh_at, now, lease_until, limit)
    return list(await session.scalars(stmt))


async def label_with_order(session: AsyncSession, label_id: uuid.UUID) -> tuple[TrackingLabel, Order] | None:
    stmt = (
        select(TrackingLabel, Order)
        .join(Order, Order.id == TrackingLabel.order_id)
        .where(TrackingLabel.id == label_id)
        .with_for_update(of=TrackingLabel)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (row[0], row[1])
