"""Conversion rules: the one path every label is minted by (attempt), convert by hand, and drop.

The order row is locked for the whole attempt, the provider call included, so concurrent converts,
a re-run job and the poller racing a manual convert queue behind each other on it: the second sees
the label the first recorded and mints nothing. A label is charged in the transaction that records
it, after the provider minted it; a provider failure therefore never debits, and a charge that
fails after a mint releases the label at the provider.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.billing import service as billing
from orderatlas.config import Settings
from orderatlas.conversion import repository, ship_from
from orderatlas.conversion.base import (
    PROVIDER_UNAVAILABLE,
    ConversionProvider,
    LabelFailure,
    LabelRequest,
    MintResult,
)
from orderatlas.errors import BadRequest, Conflict, InsufficientCredits, NotFound, OrderAtlasError
from orderatlas.models import Account, Order, TrackingLabel
from orderatlas.models.base import utcnow
from orderatlas.models.conversion import DROPPED
from orderatlas.models.credit import CONVERSION_DEBIT
from orderatlas.orders import repository as orders_repository
from orderatlas.orders import statuses as st
from orderatlas.orders.refresh import next_refresh
from orderatlas.retailers.marketplaces import MARKETPLACES
from orderatlas.webhooks.payloads import TRACKING_CONVERTED
from orderatlas.webhooks.service import emit_order_event

log = logging.getLogger(__name__)

# Confirmed or later, and not failed: the reference converts "as soon as the order is confirmed".
CONVERTIBLE_STATUSES = st.PLACED_STATUSES | st.SHIPPING_STATUSES | {st.DELIVERED}
INSUFFICIENT_CREDITS, MISSING_SHIP_FROM = "insufficient_credits", "missing_ship_from"
PROVIDER_NOT_CONFIGURED = "provider_not_configured"


class PlatformNotSupported(BadRequest):
    code = "platform_not_supported"


class NotConvertible(Conflict):
    code = "order_not_convertible"


class AlreadyConverted(Conflict):
    code = "already_converted"


class NotConverted(Conflict):
    code = "not_converted"


class MissingShipFrom(OrderAtlasError):
    status_code = 422
    code = MISSING_SHIP_FROM


class ConversionFailed(OrderAtlasError):
    status_code = 502
    code = "conversion_failed"


@dataclass(frozen=True)
class Skip:
    """Why an attempt minted nothing: what aqualine.skipped carries, and what convert answers."""

    reason: str
    message: str
    retry_eligible: bool
    credits_have: int | None = None
    credits_need: int | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """The event's own fields; the credit counts only where the reference has them."""
        fields: dict[str, Any] = {"skip_reason": self.reason, "skip_message": self.message}
        if self.reason == INSUFFICIENT_CREDITS:
            fields |= {"credits_have": self.credits_have, "credits_need": self.credits_need}
        return {**fields, "retry_eligible": self.retry_eligible}


def supported(platform: str) -> bool:
    market = MARKETPLACES.get(platform)
    return market is not None and market.aquiline


def check_convertible(order: Order) -> None:
    if not supported(order.platform):
        raise PlatformNotSupported(f"platform {order.platform} is not supported by Aquiline")
    if order.status not in CONVERTIBLE_STATUSES:
        raise NotConvertible(
            f"order {order.id} is {order.status}: only a confirmed order or one further along converts"
        )
    if order.aqualine_tracking:
        raise AlreadyConverted(
            f"order {order.id} already has Aquiline tracking {order.aqualine_tracking}; "
            "drop it first (POST /v1/order/:order_id/drop-conversion) to convert again"
        )


def _insufficient(have: int, need: int) -> Skip:
    message = (
        f"Aquiline conversion skipped: insufficient credits (have {have}, need {need}); top up to convert"
    )
    return Skip(INSUFFICIENT_CREDITS, message, True, have, need)


async def _mint(provider: ConversionProvider, request: LabelRequest, timeout_s: float) -> MintResult:
    try:
        return await asyncio.wait_for(provider.mint(request), timeout_s)
    except Exception as exc:  # the provider is down or slow: nothing was charged, try again later
        log.warning(
            "conversion provider %s raised on order %s: %r", provider.name, request.order_reference, exc
        )
        reason = "timed out" if isinstance(exc, TimeoutError) else f"raised {type(exc).__name__}"
        return MintResult(
            failure=LabelFailure(PROVIDER_UNAVAILABLE, f"the conversion provider {reason}", True)
        )


async def _release(provider: ConversionProvider, number: str) -> None:
    try:
        await provider.release(number)
    except Exception:  # the label stays unused at the provider; nothing was charged for it
        log.exception("conversion provider %s could not release label %s", provider.name, number)


async def attempt(
    session: AsyncSession,
    order: Order,
    account: Account,
    provider: ConversionProvider,
    *,
    settings: Settings,
    now: datetime,
) -> TrackingLabel | Skip:
    """Mint, charge and record one label for a locked order with none. Never raises for an outcome."""
    chosen = ship_from.resolve(order, account)
    if chosen.missing:
        message = (
            f"Aquiline conversion skipped: the {chosen.source} ship-from address lacks "
            f"{', '.join(chosen.missing)}; complete it (ship_from on the order or ship_from_* in settings)"
        )
        return Skip(MISSING_SHIP_FROM, message, True)
    cost = billing.costs(settings).tracking_conversion
    have = await billing.current_balance(session, account.id, test_mode=order.test_mode)
    if have < cost:
        return _insufficient(have, cost)
    order.conversion_attempts += 1
    request = LabelRequest(
        order_reference=str(order.id),
        platform=order.platform,
        ship_from=chosen.address,
        ship_to={k: str(v) for k, v in order.shipping_address.items() if v is not None},
        retailer_tracking=order.tracking_number or "",
        retailer_carrier=order.carrier or "",
        attempt=order.conversion_attempts,
    )
    result = await _mint(provider, request, settings.conversion_timeout_s)
    if result.label is None:
        failure = result.failure or LabelFailure(PROVIDER_UNAVAILABLE, "the provider answered nothing", True)
        return Skip(failure.code, f"Aquiline conversion failed: {failure.message}", failure.retryable)
    number = result.label.number[:100]
    try:
        await billing.charge(
            session,
            account.id,
            cost,
            CONVERSION_DEBIT,
            f"Tracking conversion: {order.id} ({number})",
            test_mode=order.test_mode,
            order_id=order.id,
            reference=number,
        )
    except InsufficientCredits as short:  # spent elsewhere since we looked: the label goes back
        await _release(provider, number)
        return _insufficient(short.extra["credits_remaining"], cost)
    label = TrackingLabel(
        id=uuid.uuid4(),
        order_id=order.id,
        account_id=order.account_id,
        test_mode=order.test_mode,
        provider=provider.name,
        number=number,
        carrier=result.label.carrier[:50],
        ship_from=chosen.address,
        status="pre_transit",
        next_refresh_at=next_refresh(now, settings.tracking_refresh_s),
    )
    session.add(label)
    order.aqualine_tracking = number
    order.aqualine_skip_reason = None  # a later failure notifies again
    await emit_order_event(session, order, TRACKING_CONVERTED, None)
    return label


async def _own_locked(session: AsyncSession, principal: Principal, reference: str) -> Order:
    order = await orders_repository.find_for_account(
        session, principal.account.id, principal.test_mode, reference, for_update=True
    )
    if order is None:
        raise NotFound(f"order {reference} not found")
    return order


@dataclass(frozen=True)
class Converted:
    order: Order
    label: TrackingLabel | None
    failure: Skip | None  # the provider failed: answered 502, with the attempt kept


async def convert(
    session: AsyncSession,
    principal: Principal,
    reference: str,
    *,
    provider_for: Callable[[bool], ConversionProvider],
    settings: Settings,
) -> Converted:
    """POST /v1/order/:id/convert. A provider failure is returned, not raised, so that the attempt
    it used is committed (the provider sees the next try as attempt 2)."""
    order = await _own_locked(session, principal, reference)
    check_convertible(order)
    provider = provider_for(order.test_mode)
    account = await session.get(Account, order.account_id)
    assert account is not None
    outcome = await attempt(session, order, account, provider, settings=settings, now=utcnow())
    if isinstance(outcome, TrackingLabel):
        return Converted(order, outcome, None)
    if outcome.reason == INSUFFICIENT_CREDITS:
        raise InsufficientCredits(have=outcome.credits_have or 0, need=outcome.credits_need or 0)
    if outcome.reason == MISSING_SHIP_FROM:
        raise MissingShipFrom(outcome.message)
    return Converted(order, None, outcome)


async def drop(
    session: AsyncSession, principal: Principal, reference: str, *, now: datetime, interval_s: float
) -> tuple[Order, str]:
    """POST /v1/order/:id/drop-conversion: the label stops being the order's, and is still refreshed
    until its parcel is delivered or cancelled. Nothing is refunded. With convert_tracking on, the
    poller converts the order again, but not before one interval: time to convert it by hand."""
    order = await _own_locked(session, principal, reference)
    label = await repository.active_label(session, order.id)
    if label is None or not order.aqualine_tracking:
        raise NotConverted(f"order {order.id} has no Aquiline tracking to drop")
    label.state, label.dropped_at = DROPPED, now  # its refresh schedule carries on as it was
    order.dropped_aqualine_tracking = [label.number, *order.dropped_aqualine_tracking]
    order.aqualine_tracking = None
    order.conversion_due_at = now + timedelta(seconds=interval_s)
    return order, label.number
