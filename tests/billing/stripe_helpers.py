"""Stripe's side in tests: respx at the SDK's real endpoint, and events signed like Stripe signs them."""

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx
import respx

from orderatlas.config import Settings
from tests.factories import SellerAccount
from tests.fake_stripe import FakeStripe, event, nested, sign

STRIPE_SESSIONS = "https://api.stripe.com/v1/checkout/sessions"
LIVE_KEY, TEST_KEY = "sk_live_orderatlas_tests", "sk_test_orderatlas_tests"
LIVE_SECRET, TEST_SECRET = "whsec_live_orderatlas_tests", "whsec_test_orderatlas_tests"
WEBHOOK = "/v1/billing/stripe/webhook"
TOPUP = {"credits": 100, "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no"}


def configure_stripe(settings: Settings) -> None:
    settings.stripe_secret_key, settings.stripe_test_secret_key = LIVE_KEY, TEST_KEY
    settings.stripe_webhook_secret, settings.stripe_test_webhook_secret = LIVE_SECRET, TEST_SECRET
    settings.credit_price_cents, settings.credit_currency = 10, "usd"


def sent_params(request: httpx.Request) -> dict[str, Any]:
    return nested(parse_qsl(request.content.decode(), keep_blank_values=True))


def mock_sessions(router: respx.MockRouter, fake: FakeStripe | None = None) -> respx.Route:
    """Stripe's create-session endpoint, answered by a FakeStripe (with Stripe's idempotency rules)."""
    return router.post(STRIPE_SESSIONS).mock(side_effect=(fake or FakeStripe()).respond)


async def open_topup(
    client: httpx.AsyncClient,
    seller: SellerAccount,
    route: respx.Route,
    *,
    test: bool = True,
    credits: int = 100,
) -> dict[str, Any]:
    """POST /v1/billing/topup and return the Checkout Session Stripe (the mock) made for it."""
    headers = seller.test_headers if test else seller.live_headers
    response = await client.post("/v1/billing/topup", json={**TOPUP, "credits": credits}, headers=headers)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = route.calls.last.response.json()
    assert response.json()["checkout_url"] == session["url"]
    return session


def paid(session: dict[str, Any], payment_status: str = "paid") -> dict[str, Any]:
    """The session as Stripe reports it once the buyer has paid."""
    return {
        **session,
        "status": "complete",
        "payment_status": payment_status,
        "payment_intent": session.get("payment_intent") or f"pi_{session['id'][-24:]}",
    }


def completed(
    session: dict[str, Any], *, event_id: str | None = None, payment_status: str = "paid"
) -> dict[str, Any]:
    return event("checkout.session.completed", paid(session, payment_status), event_id=event_id)


def refunded(session: dict[str, Any], amount_refunded: int) -> dict[str, Any]:
    charge = {
        "id": f"ch_{session['id'][-24:]}",
        "object": "charge",
        "livemode": session["livemode"],
        "amount": session["amount_total"],
        "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= session["amount_total"],
        "currency": session["currency"],
        "payment_intent": paid(session)["payment_intent"],
    }
    return event("charge.refunded", charge)


def signed(body: dict[str, Any], secret: str, timestamp: int | None = None) -> tuple[str, dict[str, str]]:
    payload = json.dumps(body)
    return payload, {"Stripe-Signature": sign(payload, secret, timestamp), "Content-Type": "application/json"}


async def deliver(
    client: httpx.AsyncClient, body: dict[str, Any], secret: str = TEST_SECRET
) -> httpx.Response:
    payload, headers = signed(body, secret)
    return await client.post(WEBHOOK, content=payload, headers=headers)


async def balance(client: httpx.AsyncClient, seller: SellerAccount, *, test: bool = True) -> dict[str, Any]:
    headers = seller.test_headers if test else seller.live_headers
    response = await client.get("/v1/billing/balance", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
