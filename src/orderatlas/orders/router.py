"""HTTP for /v1/order (one order) and /v1/orders (the list for integrations)."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.idempotency.decorator import idempotent
from orderatlas.kit.money import format_money, money_number
from orderatlas.kit.time import iso_z
from orderatlas.models import Order
from orderatlas.orders import listing, service
from orderatlas.orders.schemas import (
    ListedOrder,
    OrderCreate,
    OrderCreated,
    OrderDeleted,
    OrderDetail,
    OrderItemDetail,
    OrderList,
)
from orderatlas.orders.statuses import ALL_STATUSES
from orderatlas.retailers.marketplaces import MARKETPLACES
from orderatlas.storage.links import CopyLinks, links_for

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
    return OrderDetail(
        **_fields(order, links_for(request)), items=_lines(order, order.lines), credits_remaining=balance
    )


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
        Query(description=f"Repeatable, or comma-separated: any of {', '.join(ALL_STATUSES)}."),
    ] = None,
    platform: Annotated[str | None, Query(description="A platform identifier, e.g. AmazonUS.")] = None,
    external_order_id: Annotated[str | None, Query(description="Exactly this client reference.")] = None,
    created_after: Annotated[str | None, Query(description="ISO 8601; created at or after.")] = None,
    created_before: Annotated[str | None, Query(description="ISO 8601; created at or before.")] = None,
    updated_after: Annotated[
        str | None,
        Query(
            description="ISO 8601; changed at or after. Makes the walk a sync window (docs/orders-list.md)."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_LIMIT)] = listing.DEFAULT_LIMIT,
    next_token: Annotated[
        str | None, Query(max_length=4096, description="From the previous page; the filters ride in it.")
    ] = None,
    expand: Annotated[list[str] | None, Query(description="items: include each order's line items.")] = None,
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
        orders=[listed_order(order, items, links_for(request)) for order, items in page.orders],
        next_token=page.next_token,
        updated_before=iso_z(page.updated_before),
    )


def _money(order: Any) -> Any:
    market = MARKETPLACES[order.platform]

    def money(amount: Decimal | None) -> str:
        return format_money(amount, market.currency, market.locale)

    return money


def _fields(order: Any, links: CopyLinks) -> dict[str, Any]:
    money = _money(order)
    return {
        "id": str(order.id),
        "platform": order.platform,
        "status": order.status,
        "platform_order_id": order.platform_order_id,
        "asin": order.asin,
        "product_title": order.product_title,
        "quantity": order.quantity,
        "price": money(order.price),
        "shipping": money(order.shipping),
        "credit": money(order.credit),
        "tax": money(order.tax),
        "total": money(order.total),
        "price_amount": money_number(order.price),
        "shipping_amount": money_number(order.shipping),
        "credit_amount": money_number(order.credit),
        "tax_amount": money_number(order.tax),
        "total_amount": money_number(order.total),
        "invoice_link": links.url(order.invoice_copy),
        "invoice_fetched_at": iso_z(order.invoice_fetched_at),
        "logged_in": order.logged_in,
        "auto_subscribe_save": order.auto_subscribe_save,
        "subscription_canceled": order.subscription_canceled,
        "tracking_number": order.tracking_number or "",
        "carrier": order.carrier or "",
        "aqualine_tracking": order.aqualine_tracking or "",
        "dropped_aqualine_tracking": list(order.dropped_aqualine_tracking),
        "external_order_id": order.external_order_id or "",
        "metadata": order.client_metadata or {},
        "order_html_url": links.url(order.order_html_copy),
        "order_html_updated_at": iso_z(order.order_html_updated_at),
        "delivery_photo_url": order.delivery_photo_url or "",
        "failure_reason_code": order.failure_reason_code,
        "notes": list(order.notes),
        "created_at": iso_z(order.created_at),
        "updated_at": iso_z(order.updated_at),
    }


def _item(
    order: Any,  # an Order, or a row of its columns under the same names (service.get_order)
    *,
    asin: str,
    quantity: int,
    price_max: Decimal | None,
    unit_price: Decimal | None,
    seller: str | None,
    outcome: str,
) -> OrderItemDetail:
    # A legacy order caps its subtotal, not its one line: that cap is reported on the line.
    return OrderItemDetail(
        asin=asin,
        quantity=quantity,
        price_max=money_number(price_max if order.multi_item else order.price_max),
        price=_money(order)(unit_price),
        price_amount=money_number(unit_price),
        seller=seller or "",
        outcome=outcome,
    )


def order_detail(order: Order, credits_remaining: int, links: CopyLinks) -> OrderDetail:
    items = [
        _item(
            order,
            asin=item.asin,
            quantity=item.quantity,
            price_max=item.price_max,
            unit_price=item.unit_price,
            seller=item.seller,
            outcome=item.outcome,
        )
        for item in order.items
    ]
    return OrderDetail(**_fields(order, links), items=items, credits_remaining=credits_remaining)


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _lines(order: Any, items: list[dict[str, Any]]) -> list[OrderItemDetail]:
    """An order's lines from the JSON its query built (repository._items_json)."""
    return [
        _item(
            order,
            asin=line["asin"],
            quantity=line["quantity"],
            price_max=_decimal(line["price_max"]),
            unit_price=_decimal(line["unit_price"]),
            seller=line["seller"],
            outcome=line["outcome"],
        )
        for line in items
    ]


def listed_order(order: Order, items: list[dict[str, Any]] | None, links: CopyLinks) -> ListedOrder:
    """items: the page query's JSON lines (expand=items), or None."""
    return ListedOrder(**_fields(order, links), items=None if items is None else _lines(order, items))
