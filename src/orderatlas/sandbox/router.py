"""HTTP for /v1/sandbox: the retailer's view, so a client can reconcile against it."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.billing.service import current_balance
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.kit.pagination import PageDep
from orderatlas.kit.time import iso_z
from orderatlas.orders.responses import order_detail
from orderatlas.orders.schemas import OrderDetail
from orderatlas.sandbox import service
from orderatlas.sandbox.schemas import Advance, Purchase, PurchaseLine, PurchaseList
from orderatlas.storage.links import links_for

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


@router.get("/purchases", response_model=PurchaseList, responses=error_responses(403))
async def list_purchases(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    order_id: Annotated[uuid.UUID | None, Query(description="Only this order's purchases.")] = None,
) -> PurchaseList:
    rows, total = await service.purchases(session, principal, order_id, page)
    return PurchaseList(
        purchases=[
            Purchase(
                id=str(row.id),
                order_id=row.order_reference,
                platform=row.platform,
                platform_order_id=row.platform_order_id,
                account_email=row.account_email,
                status=row.status,
                lines=[PurchaseLine.model_validate(line) for line in row.lines],
                subtotal=float(row.subtotal),
                created_at=iso_z(row.created_at),
            )
            for row in rows
        ],
        total=total,
    )


@router.post(
    "/orders/{order_id}/advance", response_model=OrderDetail, responses=error_responses(403, 404, 409)
)
async def advance_order(
    order_id: str, request: Request, session: SessionDep, principal: PrincipalDep, body: Advance | None = None
) -> OrderDetail:
    """Move a sandbox order along its timeline now, as the refresh would when its time comes."""
    state = request.app.state
    target = body.status if body else None
    order = await service.advance(
        session, principal, order_id, target, retailers=state.retailers, copies=state.copies
    )
    balance = await current_balance(session, principal.account.id, test_mode=principal.test_mode)
    return order_detail(order, balance, links_for(request))
