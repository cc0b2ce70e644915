"""SQL for orders, their items and their status history."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Row,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    inspect,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import flag_modified

from orderatlas.kit.claims import lease_due
from orderatlas.kit.schemas import storable
from orderatlas.models import Account, ApiKey, Order, OrderEvent, OrderItem
from orderatlas.orders import statuses as st
from orderatlas.orders.filters import Filters, Position
from orderatlas.webhooks.service import remember_targets


def mode_target(live: Any) -> Any:
    """The account's webhook target of the order's mode: test orders' events go to test mode's."""
    test = getattr(Account, Account.webhook_column(live.key, True))
    return case((Order.test_mode, test), else_=live)


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


# The order's columns under their attribute names, and its lines as JSON: GET /v1/order/:id in
# one statement, built once, with no ORM instances to load.
_COLUMNS = [column.label(name) for name, column in inspect(Order).columns.items()]


def _read_statement(by_platform_order_id: bool) -> Any:
    match = (
        and_(Order.platform_order_id == bindparam("reference"), Order.platform_order_id != "")
        if by_platform_order_id
        else Order.id == bindparam("order_id")
    )
    return (
        select(*_COLUMNS, _items_json().label("lines"))
        .where(Order.account_id == bindparam("account_id"), Order.test_mode == bindparam("test_mode"), match)
        .order_by(Order.created_at.desc())
        .limit(1)
    )


async def read_for_account(
    session: AsyncSession, account_id: uuid.UUID, test_mode: bool, reference: str
) -> Row[Any] | None:
    """find_for_account's order, for reading: a row of its columns plus `lines`, its items as JSON."""
    if not storable(reference):
        return None
    order_id = _parse_uuid(reference)
    stmt, params = (
        (_READ_BY_ID, {"order_id": order_id})
        if order_id is not None
        else (_READ_BY_PLATFORM_ID, {"reference": reference})
    )
    params |= {"account_id": account_id, "test_mode": test_mode}
    return (await session.execute(stmt, params)).one_or_none()


async def lock(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    """The order, locked and read afresh (populate_existing): a session that read it before the
    lock must not keep acting on what it saw then. Its webhook targets come in the same statement,
    for the event its change emits (the checkout runs this twice). Its items do not: after a wait
    for the lock PostgreSQL re-reads only the locked row, and a joined item would be as it was
    before the lock holder's commit (record_outcome writes items), so they are read after it."""
    key = aliased(ApiKey)
    stmt = (
        select(Order, mode_target(Account.webhook_url), mode_target(Account.discord_webhook_url))
        .add_columns(key.webhook_url, key.discord_webhook_url)
        .join(Account, Account.id == Order.account_id)
        .outerjoin(key, key.id == Order.api_key_id)
        .where(Order.id == order_id)
        .options(selectinload(Order.items))
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    order = row[0]
    targets = (row[1], row[2], row[3], row[4])
    remember_targets(session, order.account_id, order.api_key_id, order.test_mode, targets)
    return order


async def get(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    return await session.get(Order, order_id)


async def claim_due_for_refresh(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[uuid.UUID]:
    """Take up to `limit` orders whose refresh is due and lease them (kit.claims.lease_due)."""
    # updated_at kept: a claim changes nothing a client sees (GET /v1/orders?updated_after=).
    stmt = lease_due(Order, Order.next_refresh_at, now, lease_until, limit, updated_at=Order.updated_at)
    return list(await session.scalars(stmt))


def keep_updated_at(order: Order) -> None:
    """Flush the order's pending changes without moving updated_at: its column is written with the
    value it has, so the onupdate default does not fire (bookkeeping a client must not see)."""
    flag_modified(order, "updated_at")


def add_event(session: AsyncSession, order: Order, previous_status: str | None) -> None:
    session.add(OrderEvent(order_id=order.id, previous_status=previous_status, status=order.status))


async def events_page(
    session: AsyncSession, order_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[OrderEvent], int]:
    """One page of an order's status history, oldest first, and how many there are."""
    stmt = (
        select(OrderEvent, func.count().over())
        .where(OrderEvent.order_id == order_id)
        .order_by(OrderEvent.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(stmt)).all()
    if rows:
        return [row[0] for row in rows], int(rows[0][1])
    total = await session.scalar(select(func.count()).where(OrderEvent.order_id == order_id))
    return [], int(total or 0)


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


def _past(moment: datetime) -> datetime:
    """The first instant after an inclusive bound, at the precision the client wrote it: the API
    shows times to the second, so a bound of 14:30:00 includes an order created at 14:30:00.5."""
    return moment + (timedelta(seconds=1) if moment.microsecond == 0 else timedelta(microseconds=1))


def _list_conditions(
    account_id: uuid.UUID, test_mode: bool, filters: Filters, until: datetime | None
) -> list[ColumnElement[bool]]:
    conditions = [Order.account_id == account_id, Order.test_mode == test_mode]
    if filters.statuses:
        conditions.append(Order.status.in_(filters.statuses))
    if filters.platform is not None:
        conditions.append(Order.platform == filters.platform)
    if filters.external_order_id is not None:
        conditions.append(Order.external_order_id == filters.external_order_id)
    if filters.created_after is not None:
        conditions.append(Order.created_at >= filters.created_after)
    if filters.created_before is not None:
        conditions.append(Order.created_at < _past(filters.created_before))
    if filters.updated_after is not None:
        conditions.append(Order.updated_at >= filters.updated_after)
    if until is not None:
        conditions.append(Order.updated_at < until)
    if filters.metadata:
        conditions.append(Order.client_metadata.contains(dict(filters.metadata)))
    return conditions


def _items_json() -> Any:
    """The order's lines as one JSON array, computed inside the page's own query."""
    line = func.jsonb_build_object(
        "asin",
        OrderItem.asin,
        "quantity",
        OrderItem.quantity,
        "price_max",
        cast(OrderItem.price_max, Text),
        "unit_price",
        cast(OrderItem.unit_price, Text),
        "seller",
        OrderItem.seller,
        "outcome",
        OrderItem.outcome,
    )
    return (
        select(
            func.coalesce(func.jsonb_agg(aggregate_order_by(line, OrderItem.position)), literal([], JSONB))
        )
        .where(OrderItem.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
    )


async def list_page(
    session: AsyncSession,
    account_id: uuid.UUID,
    test_mode: bool,
    filters: Filters,
    *,
    after: Position | None,
    until: datetime | None,
    limit: int,
    with_items: bool,
) -> list[tuple[Order, list[dict[str, Any]] | None]]:
    """One page in one query, line items included when asked: newest first by (created_at, id), or,
    for a sync window, oldest change first by (updated_at, id)."""
    key = Order.updated_at if filters.is_sync else Order.created_at
    conditions = _list_conditions(account_id, test_mode, filters, until)
    if after is not None:
        here = tuple_(key, Order.id)
        last = tuple_(literal(after.at, DateTime(timezone=True)), literal(after.id, Uuid()))
        conditions.append(here > last if filters.is_sync else here < last)
    order = (key.asc(), Order.id.asc()) if filters.is_sync else (key.desc(), Order.id.desc())
    columns: list[Any] = [Order, _items_json()] if with_items else [Order]
    rows = await session.execute(select(*columns).where(*conditions).order_by(*order).limit(limit))
    return [(row[0], row[1] if with_items else None) for row in rows]


_READ_BY_ID = _read_statement(by_platform_order_id=False)
_READ_BY_PLATFORM_ID = _read_statement(by_platform_order_id=True)


async def oldest_open_write(session: AsyncSession) -> datetime | None:
    """When the oldest transaction of this database that has written something, and not committed
    yet, began (None: there is none, or the role may not see the others' sessions). Any change it
    will commit carries an updated_at set after that moment."""
    stmt = text(
        "SELECT min(xact_start) FROM pg_stat_activity"
        " WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )
    return (await session.execute(stmt)).scalar_one_or_none()
