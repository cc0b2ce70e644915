"""HTTP for /v1/order (one order) and /v1/orders (the list for integrations)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.idempotency.decorator import idempotent
from orderatlas.kit.time import iso_z
from orderatlas.orders import listing, responses, service
from orderatlas.orders.schemas import (
    OrderCreate,
    OrderCreated,
    OrderDeleted,
    OrderDetail,
    OrderList,
)
from orderatlas.orders.statuses import ALL_STATUSES
from orderatlas.storage.links import links_for

router = APIRouter(prefix="/v1/order", tags=["orders"])
list_router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post("", response_model=OrderCreated, responses=error_responses(402, 409, 422, 503))
@idempotent
async def place_order(
    body: OrderCreate, request: Request, session: SessionDep, principal: PrincipalDep
) -> OrderCreated:
    order, balance = await service.place_order(
        session, principal, body, request.app.state.retailers, request.app.state.settings
    )
    return OrderCreated(
        order_id=str(order.id),
        platform=order.platform,
        status=order.status,
        message="Order submitted for processing",
        credits_remaining=balance,
    )


@router.get("/{order_id}", response_model=OrderDetail, responses=error_responses(404))
async def get_order(
    order_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> OrderDetail:
    order = await service.get_order(session, principal, order_id)
    # The balance read with the key, in the request's first statement: one round trip fewer.
    balance = principal.balance_at_authentication
    return responses.order_detail_from_row(order, balance, links_for(request))


@router.delete("/{order_id}", response_model=OrderDeleted, responses=error_responses(404, 409))
async def delete_order(
    order_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> OrderDeleted:
    await service.delete_order(session, principal, order_id, request.app.state.copies)
    return OrderDeleted()


_METADATA_PARAMETER = {
    "name": "metadata",
    "in": "query",
    "style": "deepObject",
    "explode": True,
    "required": False,
    "description": "metadata[key]=value: only orders whose metadata has every such pair.",
    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
}


def _metadata_filters(request: Request) -> list[tuple[str, str]]:
    return [
        (name[len("metadata[") : -1], value)
        for name, value in request.query_params.multi_items()
        if name.startswith("metadata[") and name.endswith("]")
    ]


@list_router.get(
    "",
    response_model=OrderList,
    response_model_exclude_none=True,
    responses=error_responses(),
    openapi_extra={"parameters": [_METADATA_PARAMETER]},
)
async def list_orders(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[
        list[str] | None,
        Query(
            max_length=listing.MAX_FILTER_VALUES,
            description=f"Repeatable, or comma-separated: any of {', '.join(ALL_STATUSES)}.",
        ),
    ] = None,
    platform: Annotated[
        str | None, Query(max_length=40, description="A platform identifier, e.g. AmazonUS.")
    ] = None,
    # Its length is checked by the listing (400 invalid_external_order_id, as on POST /v1/order).
    external_order_id: Annotated[str | None, Query(description="Exactly this client reference.")] = None,
    created_after: Annotated[
        str | None, Query(max_length=64, description="ISO 8601; created at or after.")
    ] = None,
    created_before: Annotated[
        str | None, Query(max_length=64, description="ISO 8601; created at or before.")
    ] = None,
    updated_after: Annotated[
        str | None,
        Query(
            max_length=64,
            description="ISO 8601; changed at or after. Makes the walk a sync window (docs/orders-list.md).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_LIMIT)] = listing.DEFAULT_LIMIT,
    next_token: Annotated[
        str | None, Query(max_length=4096, description="From the previous page; the filters ride in it.")
    ] = None,
    expand: Annotated[
        list[str] | None,
        Query(max_length=listing.MAX_FILTER_VALUES, description="items: include each order's line items."),
    ] = None,
) -> OrderList:
    filters = listing.build_filters(
        statuses=status or [],
        platform=platform,
        external_order_id=external_order_id,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        metadata=_metadata_filters(request),
    )
    settings = request.app.state.settings
    page = await listing.list_orders(
        session,
        principal,
        filters,
        next_token=next_token,
        limit=limit,
        with_items=listing.check_expand(expand or []),
        secret_key=settings.secret_key,
        settle_s=settings.orders_sync_settle_s,
    )
    return OrderList(
        orders=[responses.listed_order(order, items, links_for(request)) for order, items in page.orders],
        next_token=page.next_token,
        updated_before=iso_z(page.updated_before),
    )
