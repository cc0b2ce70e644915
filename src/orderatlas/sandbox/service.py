"""Rules for the sandbox's test helpers: its purchase history, and moving an order along its timeline."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.errors import Conflict, NotFound, OrderAtlasError
from orderatlas.kit.pagination import Page
from orderatlas.models import Order, SandboxPurchase
from orderatlas.models.base import utcnow
from orderatlas.orders import lifecycle, refresh
from orderatlas.orders import repository as orders
from orderatlas.orders import statuses as st
from orderatlas.retailers.registry import SANDBOX, Retailers
from orderatlas.sandbox import repository
from orderatlas.storage.base import CopyStore


class SandboxOnly(OrderAtlasError):
    status_code = 403
    code = "test_key_required"


async def purchases(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID | None, page: Page
) -> tuple[list[SandboxPurchase], int]:
    """Purchases the sandbox made for this account's orders. Orders that were deleted drop out."""
    if not principal.test_mode:
        raise SandboxOnly("the sandbox purchase history is only available to oatl_test_ keys")
    return await repository.list_for_account(session, principal.account.id, order_id, page.limit, page.offset)


async def advance(
    session: AsyncSession,
    principal: Principal,
    reference: str,
    target: str | None,
    *,
    retailers: Retailers,
    copies: CopyStore,
) -> Order:
    """Move a sandbox order at once: to `target`, or to the next step of its timeline. The move is
    recorded exactly as a refresh records one (events, webhooks, copies): only the clock is skipped."""
    if not principal.test_mode:
        raise SandboxOnly("the sandbox helpers are only available to oatl_test_ keys")
    order = await orders.find_for_account(session, principal.account.id, True, reference, for_update=True)
    if order is None or order.retailer != SANDBOX:
        raise NotFound(f"order {reference} not found")
    if order.status in st.IN_FLIGHT_STATUSES:  # the checkout decides these; it may be running now
        raise lifecycle.InvalidTransition(
            f"order {order.id} is {order.status}: advance it once its checkout has finished"
        )
    sandbox = retailers.sandbox()
    target = target or sandbox.next_step(order.account_email, order.status)
    if target is None:
        raise lifecycle.InvalidTransition(
            f"order {order.id} is {order.status}: its sandbox timeline has no next step"
        )
    lifecycle.check_move(order, target)
    tracking = await sandbox.observe_order(refresh.lookup_for(order), target)
    if tracking is None:
        raise Conflict(f"the sandbox has no purchase for order {order.id}", code="not_in_sandbox_history")
    await refresh.observe(session, order, tracking, now=utcnow(), copies=copies)
    return order
