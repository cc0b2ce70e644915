"""HTTP for /v1/dashboard: the overview and the searchable order list."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from orderatlas.auth.dependencies import PrincipalDep, rate_limit_decision
from orderatlas.dashboard import service
from orderatlas.dashboard.repository import OrderRow
from orderatlas.dashboard.schemas import (
    DashboardOrder,
    DashboardOrders,
    Overview,
    TrackingConversion,
    TrackingConversions,
)
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.kit.money import format_money
from orderatlas.kit.pagination import Page, page_params
from orderatlas.kit.time import iso_z
from orderatlas.orders.statuses import ALL_STATUSES
from orderatlas.retailers.marketplaces import MARKETPLACES

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])

DashboardPage = Annotated[Page, Depends(page_params(default_limit=20, max_limit=200))]


def _row(row: OrderRow) -> DashboardOrder:
    market = MARKETPLACES[row.platform]
    return DashboardOrder(
        id=str(row.id),
        platform_order_id=row.platform_order_id,
        platform=row.platform,
        status=row.status,
        total=format_money(row.total, market.currency, market.locale),
        tracking_number=row.tracking_number or "",
        created_at=iso_z(row.created_at),
        external_order_id=row.external_order_id or "",
    )


@router.get("/overview", response_model=Overview, responses=error_responses())
async def overview(request: Request, session: SessionDep, principal: PrincipalDep) -> Overview:
    data = await service.overview(session, principal)
    decision = rate_limit_decision(request)  # the limiter counted this call and read the month's total
    return Overview(
        orders_today=data.counts.orders_today,
        active_tracking=data.counts.active_tracking,
        total_orders=data.counts.total_orders,
        credit_balance=data.credit_balance,
        api_calls_month=(decision.calls_this_month or 0) if decision else 0,
        recent_orders=[_row(row) for row in data.recent],
    )


@router.get("/orders", response_model=DashboardOrders, responses=error_responses())
async def list_orders(
    session: SessionDep,
    principal: PrincipalDep,
    page: DashboardPage,
    search: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Case-insensitive substring of platform_order_id, external_order_id, "
            "product_title, asin or account_email. %, _ and \\ match themselves.",
        ),
    ] = None,
    status: Annotated[str | None, Query(description=f"Exactly one of: {', '.join(ALL_STATUSES)}.")] = None,
) -> DashboardOrders:
    rows, total = await service.orders(session, principal, search, status, page)
    return DashboardOrders(orders=[_row(row) for row in rows], total=total)


@router.get("/tracking-conversions", response_model=TrackingConversions, responses=error_responses())
async def tracking_conversions(
    session: SessionDep, principal: PrincipalDep, page: DashboardPage
) -> TrackingConversions:
    rows, total = await service.conversions(session, principal, page)
    return TrackingConversions(
        orders=[
            TrackingConversion(
                id=str(row.id),
                platform_order_id=row.platform_order_id,
                status=row.status,
                tracking_number=row.tracking_number or "",
                converted_tracking=row.converted_tracking,
                created_at=iso_z(row.created_at),
            )
            for row in rows
        ],
        total=total,
    )
