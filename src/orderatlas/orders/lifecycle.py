"""The order status machine, and the one function every status change goes through.

    pending -> processing -> placed (confirmed, purchased, warning, awaiting_approval, payment_revision)
    placed -> shipped -> out_for_delivery -> delivered -> refunded
    placed or shipping -> cancelled | lost | refunded

Moves go forward only: a step may be skipped (a refresh that finds a confirmed order delivered),
never taken back. An order on hold (warning, awaiting_approval, payment_revision) may still become
confirmed or purchased, and confirmed may become purchased. failed, PRICE_EXCEEDED, cancelled, lost
and refunded are final. Asking for the status an order already has is not a move.
"""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.errors import Conflict
from orderatlas.models import Order
from orderatlas.orders import repository
from orderatlas.orders import statuses as st
from orderatlas.storage.base import CopyStore
from orderatlas.webhooks.payloads import ORDER_STATUS_CHANGED
from orderatlas.webhooks.service import emit_order_event

_ENDINGS = frozenset({st.CANCELLED, st.LOST, st.REFUNDED})
_AFTER_PLACED = st.SHIPPING_STATUSES | {st.DELIVERED} | _ENDINGS

MOVES: dict[str, frozenset[str]] = {
    st.PENDING: frozenset({st.PROCESSING, st.FAILED}),
    st.PROCESSING: st.PLACED_STATUSES | {st.FAILED, st.PRICE_EXCEEDED},
    st.CONFIRMED: _AFTER_PLACED | {st.PURCHASED},
    st.PURCHASED: _AFTER_PLACED,
    **{hold: _AFTER_PLACED | {st.CONFIRMED, st.PURCHASED} for hold in st.ON_HOLD_STATUSES},
    st.SHIPPED: frozenset({st.OUT_FOR_DELIVERY, st.DELIVERED}) | _ENDINGS,
    st.OUT_FOR_DELIVERY: frozenset({st.DELIVERED}) | _ENDINGS,
    st.DELIVERED: frozenset({st.REFUNDED}),
    **{final: frozenset() for final in st.FINAL_STATUSES},
}

# Statuses the worker keeps looking up at the retailer (orders/refresh.py).
REFRESHED_STATUSES = st.PLACED_STATUSES | st.SHIPPING_STATUSES
# The order page copy is kept this long once the order stops being followed (delivered or final).
ORDER_PAGE_KEPT = timedelta(days=7)


class InvalidTransition(Conflict):
    code = "invalid_transition"


def can_move(current: str, target: str) -> bool:
    return target in MOVES.get(current, frozenset())


def check_move(order: Order, target: str) -> None:
    """Raise 409 invalid_transition unless the machine allows order -> target (or it is already there)."""
    if order.status != target and not can_move(order.status, target):
        raise InvalidTransition(f"order {order.id} is {order.status}: it cannot move to {target}")


async def move(
    session: AsyncSession, order: Order, target: str, *, now: datetime, copies: CopyStore | None = None
) -> bool:
    """Change the status: the event, the webhook and the refresh schedule in the caller's transaction.

    Returns False (and changes nothing) when the order already has that status. `copies` may be
    None only where no copy can exist yet (the checkout).
    """
    check_move(order, target)
    if order.status == target:
        return False
    previous = order.status
    order.status = target
    repository.add_event(session, order, previous)
    await emit_order_event(session, order, ORDER_STATUS_CHANGED, previous)
    await follow(session, order, now=now, copies=copies)
    return True


async def follow(session: AsyncSession, order: Order, *, now: datetime, copies: CopyStore | None) -> None:
    """Start refreshing an order that is placed or shipping; stop, and drop what the refresh kept,
    once it is delivered or final."""
    if order.status in REFRESHED_STATUSES:
        if order.next_refresh_at is None:
            order.next_refresh_at = now
        return
    order.next_refresh_at = None
    order.refresh_failures = 0
    order.retailer_session = None  # the session is a secret: kept no longer than it is needed
    if order.order_html_copy and copies is not None:
        await copies.expire(session, order.order_html_copy, now + ORDER_PAGE_KEPT)
