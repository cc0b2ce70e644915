"""HTTP for /v1/order: parse, call the service, shape the response."""

from decimal import Decimal

from fastapi import APIRouter, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.billing.service import current_balance
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.idempotency.decorator import idempotent
from orderatlas.kit.money import format_money, money_number
from orderatlas.kit.time import iso_z
from orderatlas.models import Order
from orderatlas.orders import service
from orderatlas.orders.schemas import OrderCreate, OrderCreated, OrderDeleted, OrderDetail, OrderItemDetail
from orderatlas.retailers.marketplaces import MARKETPLACES

router = APIRouter(prefix="/v1/order", tags=["orders"])


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
async def get_order(order_id: str, session: SessionDep, principal: PrincipalDep) -> OrderDetail:
    order = await service.get_order(session, principal, order_id)
    balance = await current_balance(session, principal.account.id, test_mode=principal.test_mode)
    return order_detail(order, balance)


@router.delete("/{order_id}", response_model=OrderDeleted, responses=error_responses(404, 409))
async def delete_order(order_id: str, session: SessionDep, principal: PrincipalDep) -> OrderDeleted:
    await service.delete_order(session, principal, order_id)
    return OrderDeleted()


def order_detail(order: Order, credits_remaining: int) -> OrderDetail:
    market = MARKETPLACES[order.platform]

    def money(amount: Decimal | None) -> str:
        return format_money(amount, market.currency, market.locale)

    return OrderDetail(
        id=str(order.id),
        platform=order.platform,
        status=order.status,
        platform_order_id=order.platform_order_id,
        asin=order.asin,
        product_title=order.product_title,
        quantity=order.quantity,
        price=money(order.price),
        shipping=money(order.shipping),
        credit=money(order.credit),
        tax=money(order.tax),
        total=money(order.total),
        price_amount=money_number(order.price),
        shipping_amount=money_number(order.shipping),
        credit_amount=money_number(order.credit),
        tax_amount=money_number(order.tax),
        total_amount=money_number(order.total),
        invoice_link=order.invoice_link or "",
        invoice_fetched_at=iso_z(order.invoice_fetched_at),
        logged_in=order.logged_in,
        auto_subscribe_save=order.auto_subscribe_save,
        subscription_canceled=order.subscription_canceled,
        tracking_number=order.tracking_number or "",
        carrier=order.carrier or "",
        aqualine_tracking=order.aqualine_tracking or "",
        order_html_url=order.order_html_url or "",
        order_html_updated_at=iso_z(order.order_html_updated_at),
        failure_reason_code=order.failure_reason_code,
        notes=list(order.notes),
        items=[
            OrderItemDetail(
                asin=item.asin,
                quantity=item.quantity,
                price_max=money_number(item.price_max if order.multi_item else order.price_max),
                price=money(item.unit_price),
                price_amount=money_number(item.unit_price),
                seller=item.seller or "",
                outcome=item.outcome,
            )
            for item in order.items
        ],
        created_at=iso_z(order.created_at),
        updated_at=iso_z(order.updated_at),
        credits_remaining=credits_remaining,
    )
