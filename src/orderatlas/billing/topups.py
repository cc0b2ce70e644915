"""Top-ups: a Stripe Checkout Session per purchase, and Stripe's events that credit it exactly once.

An event is stored by its Stripe id (ON CONFLICT DO NOTHING) and handled in the same transaction,
so a replay, or twenty copies delivered at once, finds it stored and does nothing. The two events
that can announce one payment (completed, async_payment_succeeded) lock the same top-up row, and
the ledger allows one deposit per top-up.
"""

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.billing import repository
from orderatlas.billing import service as billing
from orderatlas.billing.schemas import TopupCreate
from orderatlas.billing.stripe_api import StripeGateway, VerifiedEvent
from orderatlas.config import Settings
from orderatlas.errors import BadRequest
from orderatlas.idempotency.service import check_key
from orderatlas.models import CreditTopup
from orderatlas.models.base import utcnow

log = logging.getLogger(__name__)

PRODUCT_NAME = "OrderAtlas credits"


class InvalidCredits(BadRequest):
    code = "invalid_credits"


def _mode(test_mode: bool) -> str:
    return "test" if test_mode else "live"


def stripe_idempotency_key(principal: Principal, client_key: str | None) -> str:
    """The client's Idempotency-Key, when sent, makes its retries reach the same Stripe session
    even after our side failed or rolled back; without one, each request is its own purchase."""
    if client_key is None:
        return f"orderatlas-topup-{uuid.uuid4()}"
    digest = hashlib.sha256(client_key.encode()).hexdigest()[:32]
    return f"orderatlas-topup-{principal.api_key.mode}-{principal.account.id}-{digest}"


def checkout_params(principal: Principal, data: TopupCreate, settings: Settings) -> dict[str, Any]:
    """Only the request, the account and its mode: Stripe refuses a retried idempotency key whose
    parameters changed, so nothing drawn per attempt (a fresh id, a timestamp) may appear here."""
    metadata = {
        "account_id": str(principal.account.id),
        "credits": str(data.credits),
        "mode": principal.api_key.mode,
    }
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": data.credits,
                "price_data": {
                    "currency": settings.credit_currency.lower(),
                    "unit_amount": settings.credit_price_cents,
                    "product_data": {"name": PRODUCT_NAME},
                },
            }
        ],
        "success_url": data.success_url,
        "cancel_url": data.cancel_url,
        "client_reference_id": str(principal.account.id),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }


@dataclass(frozen=True)
class OpenedCheckout:
    """A Checkout Session Stripe opened, with the price it was opened at."""

    session_id: str
    url: str
    credits: int
    amount_cents: int
    currency: str


async def open_checkout(
    principal: Principal,
    data: TopupCreate,
    gateway: StripeGateway,
    settings: Settings,
    client_key: str | None,
) -> OpenedCheckout:
    """Ask Stripe for a Checkout Session. Touches no database: the caller holds no connection."""
    low, high = settings.topup_min_credits, settings.topup_max_credits
    if not low <= data.credits <= high:
        raise InvalidCredits(f"credits must be between {low} and {high}")
    if client_key is not None:
        check_key(client_key)  # a bad key is refused before Stripe is asked anything
    checkout = await gateway.create_checkout_session(
        test_mode=principal.test_mode,
        params=checkout_params(principal, data, settings),
        idempotency_key=stripe_idempotency_key(principal, client_key),
    )
    return OpenedCheckout(
        checkout.id,
        checkout.url,
        data.credits,
        data.credits * settings.credit_price_cents,
        settings.credit_currency.lower(),
    )


async def record_topup(session: AsyncSession, principal: Principal, opened: OpenedCheckout) -> CreditTopup:
    """One row per Stripe session: a retry that Stripe answered with the same session finds it."""
    return await repository.add_topup_once(
        session,
        account_id=principal.account.id,
        test_mode=principal.test_mode,
        credits=opened.credits,
        amount_cents=opened.amount_cents,
        currency=opened.currency,
        stripe_session_id=opened.session_id,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _adopt(session: AsyncSession, checkout: dict[str, Any], test_mode: bool) -> CreditTopup | None:
    """A session we opened but never recorded (our commit failed after Stripe answered): its
    metadata, which only we write, says whose it is and what it buys."""
    metadata = checkout.get("metadata") if isinstance(checkout.get("metadata"), dict) else {}
    try:
        account_id = uuid.UUID(_text(metadata.get("account_id")))
        credits = int(_text(metadata.get("credits")))
    except ValueError:
        return None
    if credits <= 0 or metadata.get("mode") != _mode(test_mode):
        return None
    if not await repository.account_exists(session, account_id):
        return None
    log.warning("Stripe session %s was not recorded; adopted from its metadata", checkout.get("id"))
    topup = CreditTopup(
        account_id=account_id,
        test_mode=test_mode,
        credits=credits,
        amount_cents=_number(checkout.get("amount_total")) or 0,
        currency=_text(checkout.get("currency"))[:3],
        stripe_session_id=_text(checkout.get("id")),
    )
    await repository.add_topup(session, topup)
    return topup


async def _checkout_paid(session: AsyncSession, event: VerifiedEvent, checkout: dict[str, Any]) -> str:
    if checkout.get("mode") != "payment" or not _text(checkout.get("id")):
        return "ignored: not a payment session"
    topup = await repository.topup_by_session(session, checkout["id"])
    if topup is None:
        topup = await _adopt(session, checkout, event.test_mode)
    if topup is None:
        return "ignored: not an OrderAtlas top-up"
    if topup.test_mode != event.test_mode:
        log.error("Stripe session %s signed with the other mode's secret; ignored", topup.stripe_session_id)
        return "ignored: signed by the other mode's endpoint secret"
    # The first payment intent named stays: a later event must not re-point where refunds are found.
    topup.stripe_payment_intent_id = (
        topup.stripe_payment_intent_id or _text(checkout.get("payment_intent")) or None
    )
    if event.event["type"] == "checkout.session.completed" and checkout.get("payment_status") != "paid":
        return "waiting for the payment to succeed"
    if topup.paid_at is not None:
        return "already credited"
    topup.paid_at = utcnow()
    balance = await billing.deposit(
        session, topup.account_id, topup.id, topup.credits, test_mode=topup.test_mode
    )
    return "already credited" if balance is None else f"credited {topup.credits}"


async def _charge_refunded(session: AsyncSession, event: VerifiedEvent, charge: dict[str, Any]) -> str:
    payment_intent = _text(charge.get("payment_intent"))
    topup = await repository.topup_by_payment_intent(session, payment_intent) if payment_intent else None
    if topup is None or topup.paid_at is None:
        return "ignored: not a credited top-up"
    if topup.test_mode != event.test_mode:
        return "ignored: signed by the other mode's endpoint secret"
    amount, refunded = _number(charge.get("amount")), _number(charge.get("amount_refunded"))
    if not amount or refunded is None:
        return "ignored: no amounts"
    # Stripe reports the refunded total so far: what is due back is the part not yet taken.
    due = min(topup.credits, topup.credits * min(refunded, amount) // amount)
    if due <= topup.credits_reversed:
        return "nothing more to take back"
    taken, owed = await billing.take_back(
        session, topup.account_id, topup.id, due - topup.credits_reversed, test_mode=topup.test_mode
    )
    topup.credits_reversed = due
    return f"took back {taken}, {owed} owed"


Handler = Callable[[AsyncSession, VerifiedEvent, dict[str, Any]], Awaitable[str]]
HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _checkout_paid,
    "checkout.session.async_payment_succeeded": _checkout_paid,
    "charge.refunded": _charge_refunded,
}


async def handle_event(session: AsyncSession, verified: VerifiedEvent) -> tuple[bool, str]:
    """Store the event once and act on it in the same transaction. (first time?, what was done)"""
    event = verified.event
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    obj = data.get("object") if isinstance(data.get("object"), dict) else {}
    if not await repository.store_event_once(
        session, event["id"], event["type"], verified.test_mode, _text(obj.get("id"))
    ):
        return False, "already received"
    handler = HANDLERS.get(event["type"])
    outcome = await handler(session, verified, obj) if handler else "stored: not an event OrderAtlas acts on"
    await repository.set_event_outcome(session, event["id"], outcome)
    return True, outcome
