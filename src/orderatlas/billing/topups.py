"""Top-ups: a Stripe Checkout Session per purchase, one recorded row per session.

What Stripe is sent is a pure function of the request, the account and its mode, and the Stripe
idempotency key is derived from the client's Idempotency-Key: a retry, even after our side
failed, gets the session of the first attempt back (Stripe refuses a reused key whose parameters
changed). Stripe's events about a top-up are handled in stripe_events.py.
"""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.billing import repository
from orderatlas.billing.schemas import TopupCreate
from orderatlas.billing.stripe_api import StripeGateway
from orderatlas.config import Settings
from orderatlas.errors import BadRequest
from orderatlas.idempotency.service import check_key
from orderatlas.models import CreditTopup

PRODUCT_NAME = "OrderAtlas credits"


class InvalidCredits(BadRequest):
    code = "invalid_credits"


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
