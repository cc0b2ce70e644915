"""Dashboard rules: what the overview counts, and the checks on the order list's filters.

Everything is scoped to the caller's account and key mode: a test key sees test orders only,
exactly as GET /v1/order/:id does.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.billing.service import current_balance
from orderatlas.dashboard import repository
from orderatlas.dashboard.repository import ConversionRow, Counts, OrderRow
from orderatlas.errors import BadRequest
from orderatlas.kit.pagination import Page
from orderatlas.kit.schemas import storable
from orderatlas.models.base import utcnow
from orderatlas.orders.statuses import ALL_STATUSES

RECENT_ORDERS = 10


@dataclass(frozen=True)
class OverviewData:
    counts: Counts
    credit_balance: int
    recent: list[OrderRow]


def start_of_day_utc(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def overview(session: AsyncSession, principal: Principal) -> OverviewData:
    account_id, test_mode = principal.account.id, principal.test_mode
    counts = await repository.counts(session, account_id, test_mode, start_of_day_utc(utcnow()))
    recent = await repository.page(
        session, account_id, test_mode, search=None, status=None, limit=RECENT_ORDERS, offset=0
    )
    return OverviewData(counts, await current_balance(session, account_id, test_mode=test_mode), recent)


def check_status(status: str | None) -> str | None:
    if status is None:
        return None
    if status not in ALL_STATUSES:
        raise BadRequest(
            f"unknown status {status[:40]!r}: use one of {', '.join(ALL_STATUSES)}", code="invalid_status"
        )
    return status


def check_search(search: str | None) -> str | None:
    """Search text is data: trimmed, and refused only if PostgreSQL could not hold it."""
    if search is None or not search.strip():
        return None
    if not storable(search):
        raise BadRequest("search must not contain NUL characters or unpaired surrogates", code="invalid_text")
    return search.strip()


async def orders(
    session: AsyncSession, principal: Principal, search: str | None, status: str | None, page: Page
) -> tuple[list[OrderRow], int]:
    search, status = check_search(search), check_status(status)
    account_id, test_mode = principal.account.id, principal.test_mode
    rows = await repository.page(
        session, account_id, test_mode, search=search, status=status, limit=page.limit, offset=page.offset
    )
    # A short last page already says how many there are: no count needed.
    if len(rows) < page.limit and (rows or page.offset == 0):
        return rows, page.offset + len(rows)
    return rows, await repository.total(session, account_id, test_mode, search=search, status=status)


async def conversions(
    session: AsyncSession, principal: Principal, page: Page
) -> tuple[list[ConversionRow], int]:
    return await repository.conversions(
        session, principal.account.id, principal.test_mode, limit=page.limit, offset=page.offset
    )
