"""Order rules: placing an order (debit, rows, job), the checkout's claim and record, read and delete."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.billing import service as billing
from orderatlas.config import Settings
from orderatlas.errors import Conflict, NotFound
from orderatlas.jobs import enqueue_after_commit
from orderatlas.kit.crypto import seal
from orderatlas.models import Order, OrderItem
from orderatlas.models.base import utcnow
from orderatlas.observability import context
from orderatlas.observability import metrics as m
from orderatlas.orders import lifecycle, repository
from orderatlas.orders import statuses as st
from orderatlas.orders.checkout import CheckoutOutcome, CheckoutPlan, PlanLine
from orderatlas.orders.schemas import OrderCreate
from orderatlas.retailers.base import Failure, Proxy
from orderatlas.retailers.registry import Retailers, probe_proxy
from orderatlas.storage.base import CopyStore
from orderatlas.webhooks.payloads import ORDER_CREATED
from orderatlas.webhooks.service import emit_order_event
from orderatlas.webhooks.targets import check_webhook_url

log = logging.getLogger(__name__)

CHECKOUT_JOB = "checkout_order"
FAILED_STATUSES = frozenset({st.FAILED, st.PRICE_EXCEEDED})
LOST_JOB_CODE = "GATEWAY_RESTART_INTERRUPTED"
SWEEP_BATCH = 500


def checkout_job_id(order_id: uuid.UUID) -> str:
    return f"checkout:{order_id}"


def _sealed_secrets(data: OrderCreate, order_id: uuid.UUID, secret_key: str) -> str:
    card = data.payment_method
    payload: dict[str, Any] = {
        "password": data.account_password.get_secret_value(),
        "totp_secret": data.account_2fa_secret.get_secret_value() if data.account_2fa_secret else None,
        "proxy": data.proxy,
        "card": None
        if card is None
        else {
            "number": card.credit_card_number.get_secret_value(),
            "holder_name": card.holder_name.get_secret_value(),
            "exp_month": card.exp_month.get_secret_value(),
            "exp_year": card.exp_year.get_secret_value(),
            "cvv": card.cvv.get_secret_value() if card.cvv else None,
            "billing_address": card.billing_address.model_dump(exclude_none=True)
            if card.billing_address
            else None,
        },
    }
    return seal(payload, secret_key, context=str(order_id))


async def place_order(
    session: AsyncSession, principal: Principal, data: OrderCreate, retailers: Retailers, settings: Settings
) -> tuple[Order, int]:
    """Accept an order: probe the proxy, debit, write the rows, queue the checkout after commit."""
    retailer = retailers.name_for(principal.test_mode)
    if data.webhook_url:
        # No DNS here: the request holds a pooled connection (and maybe an idempotency claim);
        # a host name is checked, like every target, just before each send.
        data.webhook_url = await check_webhook_url(
            data.webhook_url, allow_private=settings.webhook_allow_private_networks, use_dns=False
        )
    proxy = Proxy.parse(data.proxy) if data.proxy else None
    await probe_proxy(retailers.get(retailer), proxy, settings.proxy_probe_timeout_s)

    lines = data.lines
    order = Order(
        id=uuid.uuid4(),
        account_id=principal.account.id,
        api_key_id=principal.api_key.id,
        test_mode=principal.test_mode,
        retailer=retailer,
        platform=data.platform,
        status=st.PENDING,
        multi_item=bool(data.items),
        asin=lines[0].asin,
        quantity=sum(line.quantity for line in lines),
        price_max=None if data.items else data.price_max,
        account_email=data.account_email,
        shipping_address=data.shipping_address.model_dump(exclude_none=True),
        ship_from=data.ship_from.model_dump(exclude_none=True) if data.ship_from else None,
        webhook_url=data.webhook_url,
        convert_tracking=data.convert_tracking,
        auto_subscribe_save=data.auto_subscribe_save,
        gift=data.gift,
        gifter_name=data.gifter_name if data.gift else None,
        gift_message=data.gift_message if data.gift else None,
        external_order_id=data.external_order_id,
        client_metadata=data.metadata,
        notes=[],
        credits_charged=settings.cost_order_placement,
        logged_in=False,
        checkout_attempts=0,
    )
    order.items = [
        OrderItem(position=i, asin=line.asin, quantity=line.quantity, price_max=line.price_max)
        for i, line in enumerate(lines)
    ]
    session.add(order)
    repository.add_event(session, order, None)
    await session.flush()
    context.bind(order_id=order.id)
    await emit_order_event(session, order, ORDER_CREATED, None, targets=principal.webhook_targets)
    # Last before the commit: the debit's UPDATE holds the account's row lock, which every order
    # of the account queues on, until the transaction ends.
    balance = await billing.debit_for_order(
        session, order.account_id, order.id, order.credits_charged, test_mode=order.test_mode
    )

    assert settings.secret_key is not None
    sealed = _sealed_secrets(data, order.id, settings.secret_key)
    enqueue_after_commit(session, CHECKOUT_JOB, str(order.id), sealed, job_id=checkout_job_id(order.id))
    m.after_commit(session, m.ORDERS_ACCEPTED.labels(m.mode(order.test_mode)).inc)
    return order, balance


async def get_order(session: AsyncSession, principal: Principal, reference: str) -> Row[Any]:
    """The order's columns and its lines (`lines`, JSON), in one statement: GET is the hot read."""
    order = await repository.read_for_account(session, principal.account.id, principal.test_mode, reference)
    if order is None:
        raise NotFound(f"order {reference} not found")
    context.bind(order_id=order.id)
    return order


async def delete_order(
    session: AsyncSession, principal: Principal, reference: str, copies: CopyStore
) -> None:
    """Delete the order; its kept session goes with the row, and its page copies with it."""
    order = await repository.find_for_account(
        session, principal.account.id, principal.test_mode, reference, for_update=True
    )
    if order is None:
        raise NotFound(f"order {reference} not found")
    if order.status in st.IN_FLIGHT_STATUSES:
        raise Conflict(
            f"order {order.id} is {order.status}: it can be deleted once checkout has finished",
            code="order_in_progress",
        )
    await repository.delete_order(session, order)
    await copies.delete(session, (key for key in (order.invoice_copy, order.order_html_copy) if key))


@dataclass(frozen=True)
class Claim:
    plan: CheckoutPlan
    retailer: str
    resumed: bool  # a previous attempt started this checkout and did not finish


def _plan(order: Order) -> CheckoutPlan:
    return CheckoutPlan(
        order_reference=str(order.id),
        platform=order.platform,
        account_email=order.account_email,
        lines=tuple(
            PlanLine(
                asin=item.asin,
                quantity=item.quantity,
                cap=item.price_max if order.multi_item else order.price_max,
                cap_is_subtotal=not order.multi_item,
            )
            for item in order.items
        ),
        shipping_address=order.shipping_address,
        gift_from=order.gifter_name,
        gift_message=order.gift_message,
        auto_subscribe_save=order.auto_subscribe_save,
    )


async def claim_checkout(session: AsyncSession, order_id: uuid.UUID) -> Claim | None:
    """Move a pending order to processing. A job may run twice: only the state decides what to do."""
    order = await repository.lock(session, order_id)
    if order is None or order.status not in st.IN_FLIGHT_STATUSES:
        return None
    resumed = order.status == st.PROCESSING
    if not resumed:
        order.processing_started_at = utcnow()
        await lifecycle.move(session, order, st.PROCESSING, now=order.processing_started_at)
    return Claim(_plan(order), order.retailer, resumed)


async def record_outcome(
    session: AsyncSession,
    order_id: uuid.UUID,
    outcome: CheckoutOutcome,
    *,
    kept_session: str | None = None,
    now: datetime | None = None,
) -> Order | None:
    """Apply a checkout's outcome. `kept_session` is the sealed retailer session it logged in with,
    which the status refresh uses; `now` is when the outcome happened (tests move it)."""
    order = await repository.lock(session, order_id)
    if order is None or order.status != st.PROCESSING:
        log.error(
            "checkout outcome for order %s arrived while it is %s; ignored", order_id, order and order.status
        )
        return None
    order.logged_in = order.logged_in or outcome.logged_in  # once true, never false again
    order.checkout_attempts += outcome.attempts
    order.product_title = outcome.product_title or order.product_title
    order.platform_order_id = outcome.platform_order_id
    order.subscription_canceled = outcome.subscription_canceled
    if outcome.charges is not None:
        charges = outcome.charges
        order.price, order.shipping, order.credit = charges.subtotal, charges.shipping, charges.credit
        order.tax, order.total = charges.tax, charges.total
    for item, line in zip(order.items, outcome.lines, strict=True):
        item.unit_price, item.seller, item.outcome = line.unit_price, line.seller, line.outcome
    order.retailer_session = kept_session if outcome.status in st.PLACED_STATUSES else None
    await _finish(session, order, outcome.status, outcome.notes, outcome.failure, now=now or utcnow())
    return order


async def abandon_pending(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    """A pending order whose job was lost (its process died between commit and enqueue).
    Nothing was bought: a checkout always moves the order to processing first."""
    order = await repository.lock(session, order_id)
    if order is None or order.status != st.PENDING:
        return None
    failure = Failure(LOST_JOB_CODE, "the checkout job was lost before it started; credits refunded")
    await _finish(session, order, st.FAILED, [failure.message], failure, now=utcnow())
    return order


async def stale_in_flight(
    session: AsyncSession, processing_for: timedelta, pending_for: timedelta
) -> list[tuple[uuid.UUID, str]]:
    now = utcnow()
    return await repository.stale_in_flight(session, now - processing_for, now - pending_for, SWEEP_BATCH)


async def _finish(
    session: AsyncSession,
    order: Order,
    status: str,
    notes: list[str],
    failure: Failure | None,
    *,
    now: datetime,
) -> None:
    order.notes = [*order.notes, *notes]
    if failure is not None:
        order.failure_reason_code = failure.code
    await lifecycle.move(session, order, status, now=now)
    finished = m.ORDERS_FINISHED.labels(m.mode(order.test_mode), status, order.failure_reason_code or "")
    m.after_commit(session, finished.inc)
    if status in FAILED_STATUSES:
        # In the mode its debit was made in, which for orders older than 0004 is not the order's.
        await billing.refund_order(session, order.id, order.failure_reason_code)
