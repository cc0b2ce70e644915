"""The rules of the routes after checkout: the moves a client makes itself (PUT tracking, POST
delivered, POST cancelled), and the lookups at the retailer it asks for with its credentials (POST
/v1/order/:id/status, POST /v1/order/import). Every status change goes through orders/lifecycle.py.

The credentials are used for this request only. The session they log in with is kept, sealed, for
the automatic refresh while the order is placed or shipping (orders/refresh.py).
"""

import uuid
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.billing import service as billing
from orderatlas.config import Settings
from orderatlas.errors import Conflict, NotFound, OrderAtlasError
from orderatlas.kit.pagination import Page
from orderatlas.models import Order, OrderEvent, OrderItem
from orderatlas.models.base import utcnow
from orderatlas.models.credit import IMPORT_DEBIT
from orderatlas.observability import context
from orderatlas.orders import lifecycle, refresh, repository
from orderatlas.orders import statuses as st
from orderatlas.retailers.base import (
    ORDER_NOT_FOUND,
    Credentials,
    Failure,
    HistoryOrder,
    OrderLookup,
    Proxy,
    RetailerAdapter,
    Session,
    TrackingResult,
)
from orderatlas.retailers.registry import Retailers, probe_proxy
from orderatlas.storage.base import CopyStore
from orderatlas.tracking.schemas import OrderImport, RetailerLogin
from orderatlas.webhooks.payloads import ORDER_CREATED
from orderatlas.webhooks.service import emit_order_event

# What an imported order may come back as: anything the retailer could show, never in flight.
IMPORTABLE_STATUSES = (lifecycle.REFRESHED_STATUSES | st.FINAL_STATUSES | {st.DELIVERED}) - {
    st.FAILED,
    st.PRICE_EXCEEDED,
}
_ONE_IMPORT = "uq_orders_imported_platform_order_id"


class LoginFailed(OrderAtlasError):
    status_code = 422
    code = "login_failed"


class RetailerUnavailable(OrderAtlasError):
    status_code = 502
    code = "retailer_unavailable"


class NotOnPlatform(NotFound):
    code = "order_not_found_on_platform"


def _lookup_error(failure: Failure) -> OrderAtlasError:
    if failure.code == ORDER_NOT_FOUND:
        return NotOnPlatform(failure.message)
    return RetailerUnavailable(f"the retailer lookup failed ({failure.code}): {failure.message}")


async def _login(
    adapter: RetailerAdapter, login: RetailerLogin, platform: str, settings: Settings
) -> Session:
    proxy = Proxy.parse(login.proxy) if login.proxy else None
    await probe_proxy(adapter, proxy, settings.proxy_probe_timeout_s)
    credentials = Credentials(
        email=login.account_email,
        password=login.account_password.get_secret_value(),
        totp_secret=login.account_2fa_secret.get_secret_value() if login.account_2fa_secret else None,
    )
    result = await adapter.login(credentials, platform, proxy, fresh=False)
    if result.failure is not None or result.session is None:
        failure = result.failure or Failure("LOGIN_FAILED", "login failed")
        raise LoginFailed(f"the retailer refused the login ({failure.code}): {failure.message}")
    return result.session


async def _track(adapter: RetailerAdapter, session: Session, lookup: OrderLookup) -> TrackingResult:
    try:
        return await adapter.track(session, lookup)
    except Exception as exc:  # a read: nothing to reconcile, so an answer we did not get is a 502
        return refresh.raised(exc)


async def check_status(
    session: AsyncSession,
    principal: Principal,
    reference: str,
    login: RetailerLogin,
    *,
    retailers: Retailers,
    copies: CopyStore,
    settings: Settings,
) -> Order:
    """Ask the retailer now and record what changed. A final order is answered as it stands."""
    order = await repository.find_for_account(session, principal.account.id, principal.test_mode, reference)
    if order is None:
        raise NotFound(f"order {reference} not found")
    if order.status in st.IN_FLIGHT_STATUSES:
        raise Conflict(
            f"order {order.id} is {order.status}: checkout is still running", code="order_in_progress"
        )
    if order.status in st.FINAL_STATUSES:
        return order
    adapter = retailers.get(order.retailer)
    retailer_session = await _login(adapter, login, order.platform, settings)
    result = await _track(adapter, retailer_session, refresh.lookup_for(order))
    if result.tracking is None:
        raise _lookup_error(result.failure or Failure("RETAILER_UNAVAILABLE", "no answer"))
    now = utcnow()
    locked = await repository.lock(session, order.id)
    if locked is None:
        raise NotFound(f"order {reference} not found")
    await refresh.observe(session, locked, result.tracking, now=now, copies=copies)
    refresh.reschedule(locked, result.tracking, now=now, interval_s=settings.tracking_refresh_s)
    if locked.status in lifecycle.REFRESHED_STATUSES:  # a fresh login: the refresh may use it from now on
        locked.retailer_session = refresh.seal_session(retailer_session, _key(settings), locked.id)
    return locked


def _key(settings: Settings) -> str:
    assert settings.secret_key, "the embedded default or the configuration sets it"
    return settings.secret_key


class OrderExists(Conflict):
    code = "order_exists"


async def import_order(
    session: AsyncSession,
    principal: Principal,
    data: OrderImport,
    *,
    retailers: Retailers,
    settings: Settings,
) -> tuple[Order, int]:
    """Read the order from the retailer's history and write it, debited in the same transaction."""
    retailer = retailers.name_for(principal.test_mode)
    adapter = retailers.get(retailer)
    exists = await repository.find_for_account(
        session, principal.account.id, principal.test_mode, data.platform_order_id
    )
    if exists is not None:
        raise OrderExists(f"order {data.platform_order_id} is already on this account (id {exists.id})")
    retailer_session = await _login(adapter, data, data.platform, settings)
    try:
        found = await adapter.read_order(retailer_session, data.platform, data.platform_order_id)
    except Exception as exc:
        raise RetailerUnavailable(f"the order history lookup raised {type(exc).__name__}") from None
    if found.failure is not None:
        raise _lookup_error(found.failure)
    if found.order is None:
        raise NotOnPlatform(f"the {data.platform} order history has no order {data.platform_order_id}")
    history = found.order
    if history.status not in IMPORTABLE_STATUSES or not history.lines:
        raise RetailerUnavailable(
            f"the retailer's history shows order {history.platform_order_id} unreadably"
        )

    order = _imported(principal, data, retailer, history, settings.cost_order_import)
    if order.status in lifecycle.REFRESHED_STATUSES:
        order.retailer_session = refresh.seal_session(retailer_session, _key(settings), order.id)
    await lifecycle.follow(session, order, now=utcnow(), copies=None)
    try:
        async with session.begin_nested():  # a twin importing the same id waits here, then 409
            session.add(order)
            repository.add_event(session, order, None)
            await session.flush()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != _ONE_IMPORT:
            raise
        raise OrderExists(f"order {data.platform_order_id} is already on this account") from None
    balance = await billing.charge(
        session,
        order.account_id,
        order.credits_charged,
        IMPORT_DEBIT,
        f"Order import: {order.platform_order_id}",
        test_mode=order.test_mode,
        order_id=order.id,
    )
    await emit_order_event(session, order, ORDER_CREATED, None)
    return order, balance


def _imported(
    principal: Principal, data: OrderImport, retailer: str, history: HistoryOrder, cost: int
) -> Order:
    charges = history.charges
    order = Order(
        id=uuid.uuid4(),
        account_id=principal.account.id,
        api_key_id=principal.api_key.id,
        test_mode=principal.test_mode,
        retailer=retailer,
        platform=data.platform,
        status=history.status,
        platform_order_id=history.platform_order_id,
        multi_item=len(history.lines) > 1,
        asin=history.lines[0].asin[:10],
        quantity=sum(line.quantity for line in history.lines),
        price_max=None,
        product_title=history.product_title,
        external_order_id=data.external_order_id,
        client_metadata=data.metadata,
        account_email=data.account_email,
        shipping_address=data.shipping_address.model_dump(exclude_none=True),
        notes=[],
        credits_charged=cost,
        logged_in=True,
        checkout_attempts=0,
        imported=True,
        price=charges.subtotal,
        shipping=charges.shipping,
        credit=charges.credit,
        tax=charges.tax,
        total=charges.total,
    )
    order.items = [
        OrderItem(
            position=i,
            asin=line.asin[:10],
            quantity=line.quantity,
            unit_price=Decimal(line.unit_price),
            seller=line.seller[:200],
            outcome=st.LINE_PLACED,
        )
        for i, line in enumerate(history.lines)
    ]
    return order


# The moves a client makes itself (PUT tracking, POST delivered, POST cancelled).


async def _own_locked(session: AsyncSession, principal: Principal, reference: str) -> Order:
    return await _own(session, principal, reference, for_update=True)


async def _own(session: AsyncSession, principal: Principal, reference: str, *, for_update: bool) -> Order:
    order = await repository.find_for_account(
        session, principal.account.id, principal.test_mode, reference, for_update=for_update
    )
    if order is None:
        raise NotFound(f"order {reference} not found")
    context.bind(order_id=order.id)
    return order


async def push_tracking(
    session: AsyncSession,
    principal: Principal,
    reference: str,
    *,
    tracking_number: str,
    carrier: str,
    status: str,
    copies: CopyStore,
) -> Order:
    """The client's tracking wins over what a refresh finds later (that only fills empty fields)."""
    order = await _own_locked(session, principal, reference)
    lifecycle.check_move(order, status)
    order.tracking_number, order.carrier = tracking_number, carrier or None
    await lifecycle.move(session, order, status, now=utcnow(), copies=copies)
    return order


async def mark_delivered(
    session: AsyncSession, principal: Principal, reference: str, *, photo_url: str | None, copies: CopyStore
) -> Order:
    order = await _own_locked(session, principal, reference)
    lifecycle.check_move(order, st.DELIVERED)
    if photo_url:
        order.delivery_photo_url = photo_url
    await lifecycle.move(session, order, st.DELIVERED, now=utcnow(), copies=copies)
    return order


async def mark_cancelled(
    session: AsyncSession, principal: Principal, reference: str, *, reason: str, copies: CopyStore
) -> Order:
    """reason is cancelled or lost. The placement's credits are not refunded: the order was placed."""
    order = await _own_locked(session, principal, reference)
    await lifecycle.move(session, order, reason, now=utcnow(), copies=copies)
    return order


async def timeline(
    session: AsyncSession, principal: Principal, reference: str, page: Page
) -> tuple[Order, list[OrderEvent], int]:
    """The order's status changes, oldest first: what GET /v1/order/:id/events and the console show."""
    order = await _own(session, principal, reference, for_update=False)
    events, total = await repository.events_page(session, order.id, page.limit, page.offset)
    return order, events, total
