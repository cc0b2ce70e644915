"""Stripe's events about top-ups: each stored once by its id and acted on in the same transaction.

An event is stored with ON CONFLICT DO NOTHING, so a replay, or twenty copies delivered at once,
finds it stored and does nothing. The two events that can announce one payment (completed,
async_payment_succeeded) lock the same top-up row, and the ledger allows one deposit per top-up.
Every event about one payment intent takes the same advisory lock first, so a refund and the
completion it refunds, arriving together in either order, each see what the other did.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.billing import repository
from orderatlas.billing import service as billing
from orderatlas.billing.stripe_api import VerifiedEvent
from orderatlas.config import Settings
from orderatlas.models import CreditTopup
from orderatlas.models.account import mode_name
from orderatlas.models.base import utcnow

log = logging.getLogger(__name__)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _adopt(
    session: AsyncSession, checkout: dict[str, Any], test_mode: bool, settings: Settings
) -> CreditTopup | None:
    """A session we opened but have no record of (a database restored to before it was opened):
    its metadata says whose it is and what it buys, at today's price. _paid_as_asked() then
    refuses to credit it if the buyer paid anything else."""
    metadata = checkout.get("metadata") if isinstance(checkout.get("metadata"), dict) else {}
    try:
        account_id = uuid.UUID(_text(metadata.get("account_id")))
        credits = int(_text(metadata.get("credits")))
    except ValueError:
        return None
    if credits <= 0 or metadata.get("mode") != mode_name(test_mode):
        return None
    if checkout.get("client_reference_id") != str(account_id):
        return None
    if not await repository.account_exists(session, account_id):
        return None
    log.warning("Stripe session %s was not recorded; adopted from its metadata", checkout.get("id"))
    topup = CreditTopup(
        account_id=account_id,
        test_mode=test_mode,
        credits=credits,
        amount_cents=credits * settings.credit_price_cents,
        currency=settings.credit_currency.lower(),
        stripe_session_id=_text(checkout.get("id")),
    )
    await repository.add_topup(session, topup)
    return topup


def _paid_as_asked(topup: CreditTopup, checkout: dict[str, Any]) -> str | None:
    """Why the payment does not match what the top-up costs, or None when it does."""
    paid, currency = _number(checkout.get("amount_total")), _text(checkout.get("currency")).lower()
    if paid == topup.amount_cents and currency == topup.currency:
        return None
    log.error(
        "Stripe session %s paid %s %s for a top-up of %s %s: not credited",
        topup.stripe_session_id,
        paid,
        currency,
        topup.amount_cents,
        topup.currency,
    )
    return f"not credited: paid {paid} {currency}, the top-up costs {topup.amount_cents} {topup.currency}"


async def _checkout_paid(
    session: AsyncSession, event: VerifiedEvent, checkout: dict[str, Any], settings: Settings
) -> str:
    if checkout.get("mode") != "payment" or not _text(checkout.get("id")):
        return "ignored: not a payment session"
    payment_intent = _text(checkout.get("payment_intent"))
    if payment_intent:
        await repository.lock_payment(session, payment_intent)
    topup = await repository.topup_by_session(session, checkout["id"])
    if topup is None:
        topup = await _adopt(session, checkout, event.test_mode, settings)
    if topup is None:
        return "ignored: not an OrderAtlas top-up"
    if topup.test_mode != event.test_mode:
        log.error(
            "Stripe session %s is a %s-mode top-up; ignored",
            topup.stripe_session_id,
            mode_name(topup.test_mode),
        )
        return "ignored: a top-up of the other mode"
    # The first payment intent named stays: a later event must not re-point where refunds are found.
    topup.stripe_payment_intent_id = topup.stripe_payment_intent_id or payment_intent or None
    if event.event["type"] == "checkout.session.completed" and checkout.get("payment_status") != "paid":
        return "waiting for the payment to succeed"
    if topup.paid_at is not None:
        return "already credited"
    mismatch = _paid_as_asked(topup, checkout)
    if mismatch is not None:
        return mismatch
    topup.paid_at = utcnow()
    if (
        await billing.deposit(session, topup.account_id, topup.id, topup.credits, test_mode=topup.test_mode)
        is None
    ):
        return "already credited"
    outcome = f"credited {topup.credits}"
    held = (
        await repository.take_held_refund(session, topup.stripe_payment_intent_id, test_mode=topup.test_mode)
        if topup.stripe_payment_intent_id
        else None
    )
    if held is not None:  # refunded before we heard it was paid
        outcome += f"; {await _take_back(session, topup, *held)}"
    return outcome


async def _take_back(
    session: AsyncSession, topup: CreditTopup, amount: int | None, refunded: int | None
) -> str:
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


async def _charge_refunded(
    session: AsyncSession, event: VerifiedEvent, charge: dict[str, Any], _: Settings
) -> str:
    payment_intent = _text(charge.get("payment_intent"))
    if not payment_intent:
        return "ignored: not a payment"
    amount, refunded = _number(charge.get("amount")), _number(charge.get("amount_refunded"))
    await repository.lock_payment(session, payment_intent)
    topup = await repository.topup_by_payment_intent(session, payment_intent)
    if topup is not None and topup.test_mode != event.test_mode:
        return "ignored: a top-up of the other mode"
    if topup is None or topup.paid_at is None:
        # Its payment may not have reached us yet (events come in any order): held, and taken
        # from the deposit when it does. Refunds of payments that are not top-ups wait forever.
        if not amount or refunded is None:
            return "ignored: no amounts"
        await repository.hold_refund(
            session, payment_intent, test_mode=event.test_mode, amount=amount, refunded=refunded
        )
        return "held: no credited top-up for this payment yet"
    return await _take_back(session, topup, amount, refunded)


Handler = Callable[[AsyncSession, VerifiedEvent, dict[str, Any], Settings], Awaitable[str]]
HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _checkout_paid,
    "checkout.session.async_payment_succeeded": _checkout_paid,
    "charge.refunded": _charge_refunded,
}


async def handle_event(
    session: AsyncSession, verified: VerifiedEvent, settings: Settings
) -> tuple[bool, str]:
    """Store the event once and act on it in the same transaction. (first time?, what was done)"""
    event = verified.event
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    obj = data.get("object") if isinstance(data.get("object"), dict) else {}
    if not await repository.store_event_once(
        session, event["id"], event["type"], verified.test_mode, _text(obj.get("id"))
    ):
        return False, "already received"
    handler = HANDLERS.get(event["type"])
    if handler is None:
        outcome = "stored: not an event OrderAtlas acts on"
    else:
        outcome = await handler(session, verified, obj, settings)
    await repository.set_event_outcome(session, event["id"], outcome)
    return True, outcome
