"""SQL for the dashboard: the account's counts, and the order list with its substring search.

The search matches one trigram index (migration 0005) over the five searched fields joined by
U+001F. A match of a term without that character can never span two fields, so matching the
joined text is matching any one field. pg_trgm takes trigrams from runs of letters and digits
only: a term without a run of three has none, and the index would have to be read whole, so such
a term (and one that contains U+001F) is matched field by field instead, without the index.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Row, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models import Order
from orderatlas.orders.statuses import ACTIVE_TRACKING_STATUSES

SEPARATOR = "\x1f"
# Exactly the indexed expression of ix_orders_search_trgm, or PostgreSQL will not use the index.
SEARCH_DOCUMENT = literal_column(
    "(orders.platform_order_id || E'\\x1f' || coalesce(orders.external_order_id, '') || E'\\x1f' "
    "|| orders.product_title || E'\\x1f' || orders.asin || E'\\x1f' || orders.account_email)"
)
SEARCHED_FIELDS = (
    Order.platform_order_id,
    Order.external_order_id,
    Order.product_title,
    Order.asin,
    Order.account_email,
)
LIKE_ESCAPE = "\\"
_TRIGRAM = re.compile(r"[^\W_]{3}")  # three letters or digits in a row


@dataclass(frozen=True)
class Counts:
    orders_today: int
    active_tracking: int
    total_orders: int


def contains_pattern(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, with its own %, _ and \\ taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _scope(account_id: uuid.UUID, test_mode: bool) -> list[ColumnElement[bool]]:
    return [Order.account_id == account_id, Order.test_mode == test_mode]


def conditions(
    account_id: uuid.UUID, test_mode: bool, search: str | None, status: str | None
) -> list[ColumnElement[bool]]:
    """The WHERE of both the page and its count."""
    where = _scope(account_id, test_mode)
    if status is not None:
        where.append(Order.status == status)
    if search:
        pattern = contains_pattern(search)
        if _TRIGRAM.search(search) and SEPARATOR not in search:
            where.append(SEARCH_DOCUMENT.ilike(pattern, escape=LIKE_ESCAPE))
        else:
            where.append(or_(*(field.ilike(pattern, escape=LIKE_ESCAPE) for field in SEARCHED_FIELDS)))
    return where


async def counts(session: AsyncSession, account_id: uuid.UUID, test_mode: bool, since: datetime) -> Counts:
    """Three counts in one round trip, each over its own index."""

    def count(*where: ColumnElement[bool]) -> ColumnElement[int]:
        subquery = select(func.count()).select_from(Order).where(*_scope(account_id, test_mode), *where)
        return subquery.scalar_subquery()

    row = (
        await session.execute(
            select(
                count(Order.created_at >= since),
                count(Order.status.in_(sorted(ACTIVE_TRACKING_STATUSES))),
                count(),
            )
        )
    ).one()
    return Counts(int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class OrderRow:
    id: uuid.UUID
    platform_order_id: str
    platform: str
    status: str
    total: Decimal | None
    tracking_number: str | None
    created_at: datetime
    external_order_id: str | None


def _row(row: Row[tuple[object, ...]]) -> OrderRow:
    return OrderRow(*row)  # type: ignore[arg-type]


async def page(
    session: AsyncSession,
    account_id: uuid.UUID,
    test_mode: bool,
    *,
    search: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[OrderRow]:
    """Newest first; only the columns a dashboard row shows."""
    stmt = (
        select(
            Order.id,
            Order.platform_order_id,
            Order.platform,
            Order.status,
            Order.total,
            Order.tracking_number,
            Order.created_at,
            Order.external_order_id,
        )
        .where(*conditions(account_id, test_mode, search, status))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_row(row) for row in await session.execute(stmt)]


async def total(
    session: AsyncSession, account_id: uuid.UUID, test_mode: bool, *, search: str | None, status: str | None
) -> int:
    stmt = select(func.count()).select_from(Order).where(*conditions(account_id, test_mode, search, status))
    return int(await session.scalar(stmt) or 0)


@dataclass(frozen=True)
class ConversionRow:
    id: uuid.UUID
    platform_order_id: str
    status: str
    tracking_number: str | None
    converted_tracking: str
    created_at: datetime


async def conversions(
    session: AsyncSession, account_id: uuid.UUID, test_mode: bool, *, limit: int, offset: int
) -> tuple[list[ConversionRow], int]:
    """Orders holding Aquiline tracking, newest first, over ix_orders_converted_created_at."""
    where = [*_scope(account_id, test_mode), Order.aqualine_tracking.is_not(None)]
    stmt = (
        select(
            Order.id,
            Order.platform_order_id,
            Order.status,
            Order.tracking_number,
            Order.aqualine_tracking,
            Order.created_at,
        )
        .where(*where)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = [ConversionRow(*row) for row in await session.execute(stmt)]
    total = await session.scalar(select(func.count()).select_from(Order).where(*where))
    return rows, int(total or 0)
