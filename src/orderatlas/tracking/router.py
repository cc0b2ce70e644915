"""HTTP for the routes after checkout: import, status, tracking, delivered, cancelled, and the
order's status history (/v1/order/...)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.idempotency.decorator import idempotent
from orderatlas.kit.pagination import Page, page_params
from orderatlas.kit.time import iso_z
from orderatlas.models import Order
from orderatlas.orders import statuses as st
from orderatlas.tracking import service
from orderatlas.tracking.schemas import (
    CancelledIn,
    DeliveredIn,
    Marked,
    OrderEvent,
    OrderEventList,
    OrderImport,
    OrderImported,
    RetailerLogin,
    StatusAnswer,
    TrackingAnswer,
    TrackingPush,
)

router = APIRouter(prefix="/v1/order", tags=["orders"])


@router.post("/import", response_model=OrderImported, responses=error_responses(402, 404, 409, 422, 502, 503))
@idempotent
async def import_order(
    body: OrderImport, request: Request, session: SessionDep, principal: PrincipalDep
) -> OrderImported:
    """Bring in an order placed outside OrderAtlas, read from the retailer's order history. Costs
    `order_import` credits (1), debited with the order; honours `Idempotency-Key`."""
    state = request.app.state
    order, balance = await service.import_order(
        session, principal, body, retailers=state.retailers, settings=state.settings
    )
    return OrderImported(
        order_id=order.platform_order_id,
        status=order.status,
        platform=order.platform,
        message="Order imported successfully",
        id=str(order.id),
        credits_remaining=balance,
    )


@router.post(
    "/{order_id}/status", response_model=StatusAnswer, responses=error_responses(404, 409, 422, 502, 503)
)
async def check_status(
    order_id: str, body: RetailerLogin, request: Request, session: SessionDep, principal: PrincipalDep
) -> StatusAnswer:
    """Ask the retailer for the live status and tracking now, with the account credentials, and
    record what changed (events, webhooks, copies)."""
    state = request.app.state
    order = await service.check_status(
        session,
        principal,
        order_id,
        body,
        retailers=state.retailers,
        copies=state.copies,
        settings=state.settings,
    )
    return StatusAnswer(
        order_id=_named(order, order_id),
        status=order.status,
        platform=order.platform,
        tracking_number=order.tracking_number or "",
        carrier=order.carrier or "",
        est_delivery_min=iso_z(order.est_delivery_min),
        est_delivery_max=iso_z(order.est_delivery_max),
    )


@router.put("/{order_id}/tracking", response_model=TrackingAnswer, responses=error_responses(404, 409))
async def push_tracking(
    order_id: str, body: TrackingPush, request: Request, session: SessionDep, principal: PrincipalDep
) -> TrackingAnswer:
    """Push tracking from the client's side; `status` defaults to `shipped`."""
    order = await service.push_tracking(
        session,
        principal,
        order_id,
        tracking_number=body.tracking_number,
        carrier=body.carrier,
        status=body.status,
        copies=request.app.state.copies,
    )
    return TrackingAnswer(
        order_id=_named(order, order_id),
        status=order.status,
        tracking_number=order.tracking_number or "",
        carrier=order.carrier or "",
        message=order.status,
    )


@router.post("/{order_id}/delivered", response_model=Marked, responses=error_responses(404, 409))
async def mark_delivered(
    order_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    body: DeliveredIn | None = None,
) -> Marked:
    """Mark the order delivered, optionally with a delivery photo URL."""
    photo = body.delivery_photo_url if body else None
    order = await service.mark_delivered(
        session, principal, order_id, photo_url=photo, copies=request.app.state.copies
    )
    return Marked(order_id=_named(order, order_id), status=order.status, message="Order marked as delivered")


@router.post("/{order_id}/cancelled", response_model=Marked, responses=error_responses(404, 409))
async def mark_cancelled(
    order_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    body: CancelledIn | None = None,
) -> Marked:
    """Mark the order cancelled (`reason: cancelled`, the default) or lost (`reason: lost`)."""
    reason = body.reason if body else st.CANCELLED
    order = await service.mark_cancelled(
        session, principal, order_id, reason=reason, copies=request.app.state.copies
    )
    return Marked(
        order_id=_named(order, order_id), status=order.status, message=f"Order marked as {order.status}"
    )


@router.get("/{order_id}/events", response_model=OrderEventList, responses=error_responses(404, 422))
async def order_events(
    order_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[Page, Depends(page_params(default_limit=100))],
) -> OrderEventList:
    """The order's status history, oldest first: one event per change (`previous_status` is null
    for the first). Paged with `limit` (at most 200) and `offset`; `total` counts them all."""
    order, events, total = await service.timeline(session, principal, order_id, page)
    return OrderEventList(
        id=str(order.id),
        events=[
            OrderEvent(
                id=event.id,
                previous_status=event.previous_status,
                status=event.status,
                created_at=iso_z(event.created_at) or "",
            )
            for event in events
        ],
        total=total,
    )


def _named(order: Order, reference: str) -> str:
    """The order as the client named it in the path: by its platform_order_id, or by its UUID."""
    return order.platform_order_id if reference == order.platform_order_id else str(order.id)
