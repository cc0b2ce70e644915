"""The response bodies of orders: GET /v1/order/:id, the list's rows, and the sandbox's advance."""

from decimal import Decimal
from typing import Any

from orderatlas.kit.money import format_money, money_number
from orderatlas.kit.time import iso_z
from orderatlas.models import Order
from orderatlas.orders.schemas import ListedOrder, OrderDetail, OrderItemDetail
from orderatlas.retailers.marketplaces import MARKETPLACES
from orderatlas.storage.links import CopyLinks


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


def order_detail_from_row(order: Any, credits_remaining: int, links: CopyLinks) -> OrderDetail:
    """GET /v1/order/:id from service.get_order's row: its columns and its lines as JSON."""
    return OrderDetail(
        **_fields(order, links), items=_lines(order, order.lines), credits_remaining=credits_remaining
    )
