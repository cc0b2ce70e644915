"""POST /v1/billing/stripe/webhook: verified with the SDK, stored once by event id, credited once."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.models import CreditTransaction, StripeEvent
from tests.billing.stripe_helpers import (
    LIVE_SECRET,
    TEST_SECRET,
    WEBHOOK,
    balance,
    completed,
    configure_stripe,
    deliver,
    mock_sessions,
    open_topup,
    refunded,
    signed,
)
from tests.factories import AccountFactory, SellerAccount, legacy_order
from tests.fake_stripe import event, sign

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _stripe(settings: Settings) -> None:
    configure_stripe(settings)


async def new_topup(
    client: httpx.AsyncClient, seller: SellerAccount, *, test: bool = True, credits: int = 100
) -> dict[str, Any]:
    with respx.mock() as stripe:
        return await open_topup(client, seller, mock_sessions(stripe), test=test, credits=credits)


async def stored_events(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        return [tuple(row) for row in await session.execute(select(StripeEvent.id, StripeEvent.outcome))]  # type: ignore[misc]


async def deposits(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(CreditTransaction).where(CreditTransaction.type == "deposit")
        return int(await session.scalar(stmt) or 0)


async def test_a_paid_session_credits_the_balance_and_shows_in_the_history(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=5)
    session = await new_topup(client, seller)
    response = await deliver(client, completed(session))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "duplicate": False, "outcome": "credited 100"}
    assert (await balance(client, seller))["credit_balance"] == 105
    history = (await client.get("/v1/billing/transactions", headers=seller.test_headers)).json()
    newest = history["transactions"][0]
    assert (newest["amount"], newest["type"], newest["description"]) == (
        100,
        "deposit",
        "Purchased 100 credits",
    )


async def test_a_replayed_event_credits_once(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    body = completed(session)
    first, again = await deliver(client, body), await deliver(client, body)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert (await balance(client, seller))["credit_balance"] == 100
    assert await deposits(sessionmaker) == 1
    assert await stored_events(sessionmaker) == [(body["id"], first.json()["outcome"])]


async def test_both_completion_events_of_one_session_credit_once(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    waiting = await deliver(client, completed(session, payment_status="unpaid"))  # a bank debit, say
    assert waiting.json()["outcome"] == "waiting for the payment to succeed"
    assert (await balance(client, seller))["credit_balance"] == 0
    succeeded = event("checkout.session.async_payment_succeeded", completed(session)["data"]["object"])
    late_completed = completed(session)  # some integrations see both for one payment
    assert (await deliver(client, succeeded)).json()["outcome"] == "credited 100"
    assert (await deliver(client, late_completed)).json()["outcome"] == "already credited"
    assert (await balance(client, seller))["credit_balance"] == 100
    assert await deposits(sessionmaker) == 1
    assert len(await stored_events(sessionmaker)) == 3


async def test_twenty_concurrent_deliveries_of_one_event_make_one_deposit(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    payload, headers = signed(completed(session), TEST_SECRET)
    responses = await asyncio.gather(
        *(client.post(WEBHOOK, content=payload, headers=headers) for _ in range(20))
    )
    assert [r.status_code for r in responses] == [200] * 20
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 19
    assert await deposits(sessionmaker) == 1
    assert (await balance(client, seller))["credit_balance"] == 100


@pytest.mark.parametrize(
    "forgery", ["wrong secret", "tampered body", "no header", "not ascii", "stale", "not json"]
)
async def test_a_bad_signature_is_400_and_changes_nothing(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    forgery: str,
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    payload, headers = signed(completed(session), TEST_SECRET)
    if forgery == "wrong secret":
        payload, headers = signed(completed(session), "whsec_someone_else")
    elif forgery == "tampered body":
        payload = payload.replace('"paid"', '"paid" ')
    elif forgery == "no header":
        headers = {"Content-Type": "application/json"}
    elif forgery == "not ascii":
        headers = {"Stripe-Signature": "t=1,v1=\u00e9".encode()}  # type: ignore[dict-item]
    elif forgery == "stale":  # older than the SDK's 300-second tolerance: a replay
        payload, headers = signed(completed(session), TEST_SECRET, timestamp=int(time.time()) - 301)
    else:  # the signature is of another body
        payload = "not json"
    response = await client.post(WEBHOOK, content=payload, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert await stored_events(sessionmaker) == []
    assert (await balance(client, seller))["credit_balance"] == 0


async def test_a_signed_body_that_is_not_an_event_is_400(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for body in ("[1, 2]", '{"object": "event"}', "\u00ff not json"):
        response = await client.post(
            WEBHOOK, content=body.encode("latin-1"), headers={"Stripe-Signature": sign(body, TEST_SECRET)}
        )
        assert response.status_code == 400, body
        assert response.json()["code"] == "invalid_payload"
    assert await stored_events(sessionmaker) == []


async def test_unknown_event_types_are_stored_and_answered_200(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    body = event("customer.created", {"id": "cus_123", "object": "customer"})
    response = await deliver(client, body)
    assert response.status_code == 200
    assert response.json()["outcome"] == "stored: not an event OrderAtlas acts on"
    assert [event_id for event_id, _ in await stored_events(sessionmaker)] == [body["id"]]


async def test_a_test_mode_payment_credits_only_the_test_balance(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0, live_credits=0)
    test_session = await new_topup(client, seller, test=True)
    # A test-mode event signed with the live endpoint's secret is refused (and not stored).
    assert (await deliver(client, completed(test_session), LIVE_SECRET)).status_code == 400
    assert (await deliver(client, completed(test_session), TEST_SECRET)).json()["outcome"] == "credited 100"
    assert (await balance(client, seller, test=True))["credit_balance"] == 100
    assert (await balance(client, seller, test=False))["credit_balance"] == 0
    live_history = (await client.get("/v1/billing/transactions", headers=seller.live_headers)).json()
    assert live_history["transactions"] == []


async def test_a_live_payment_credits_the_live_balance(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0, live_credits=1)
    session = await new_topup(client, seller, test=False)
    assert (await deliver(client, completed(session), LIVE_SECRET)).json()["outcome"] == "credited 100"
    assert ((await balance(client, seller, test=False))["credit_balance"]) == 101
    assert ((await balance(client, seller, test=True))["credit_balance"]) == 0


async def test_a_refund_larger_than_the_balance_stops_at_zero_and_the_rest_comes_from_the_next_deposit(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0)
    first = await new_topup(client, seller)
    await deliver(client, completed(first))
    for _ in range(35):  # 70 of the 100 credits spent on orders
        assert (
            await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
        ).status_code == 200
    response = await deliver(client, refunded(first, amount_refunded=first["amount_total"]))
    assert response.json()["outcome"] == "took back 30, 70 owed"
    assert await balance(client, seller) == {
        "credit_balance": 0,
        "credits_owed": 70,
        "mode": "test",
        "costs": {"order_placement": 2, "tracking_conversion": 1, "order_import": 1},
    }
    again = await deliver(client, refunded(first, amount_refunded=first["amount_total"]))  # a new event id
    assert again.json()["outcome"] == "nothing more to take back"

    second = await new_topup(client, seller, credits=50)
    await deliver(client, completed(second))
    assert (await balance(client, seller))["credit_balance"] == 0
    assert (await balance(client, seller))["credits_owed"] == 20
    third = await new_topup(client, seller, credits=100)
    await deliver(client, completed(third))
    assert (await balance(client, seller))["credit_balance"] == 80
    assert (await balance(client, seller))["credits_owed"] == 0
    rows = (await client.get("/v1/billing/transactions?type=adjustment", headers=seller.test_headers)).json()
    assert [row["amount"] for row in rows["transactions"]] == [-20, -50, -30]


async def test_a_partial_refund_takes_back_its_share(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    await deliver(client, completed(session))
    quarter = await deliver(client, refunded(session, amount_refunded=session["amount_total"] // 4))
    assert quarter.json()["outcome"] == "took back 25, 0 owed"
    half = await deliver(client, refunded(session, amount_refunded=session["amount_total"] // 2))
    assert half.json()["outcome"] == "took back 25, 0 owed"  # refunds are reported as a running total
    assert (await balance(client, seller))["credit_balance"] == 50


async def test_a_later_event_does_not_repoint_where_the_refund_is_found(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    await deliver(client, completed(session))
    stray = completed({**session, "payment_intent": "pi_someone_elses"})
    assert (await deliver(client, stray)).json()["outcome"] == "already credited"
    response = await deliver(client, refunded(session, amount_refunded=session["amount_total"]))
    assert response.json()["outcome"] == "took back 100, 0 owed"
    assert (await balance(client, seller))["credit_balance"] == 0


async def test_the_webhook_needs_no_api_key_but_a_configured_secret(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.stripe_webhook_secret = settings.stripe_test_webhook_secret = None
    payload, headers = signed(event("customer.created", {"id": "cus_1"}), TEST_SECRET)
    response = await client.post(WEBHOOK, content=payload, headers=headers)
    assert response.status_code == 503
    assert response.json()["code"] == "billing_not_configured"


async def test_an_event_whose_livemode_disagrees_with_its_secret_is_refused_until_the_config_is_fixed(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=0, live_credits=0)
    session = await new_topup(client, seller)
    listen_secret = "whsec_from_stripe_listen"
    # The operator put the `stripe listen` (test-mode) secret in the live variable.
    settings.stripe_webhook_secret, settings.stripe_test_webhook_secret = listen_secret, None
    body = completed(session)
    refused = await deliver(client, body, listen_secret)
    assert refused.status_code == 400
    assert refused.json()["code"] == "livemode_mismatch"
    assert "ORDERATLAS_STRIPE_WEBHOOK_SECRET" in refused.json()["error"]
    assert await stored_events(sessionmaker) == []
    # Fixed: Stripe's retry of the same event is credited, not answered "duplicate".
    settings.stripe_webhook_secret, settings.stripe_test_webhook_secret = LIVE_SECRET, listen_secret
    retried = await deliver(client, body, listen_secret)
    assert retried.json() == {"received": True, "duplicate": False, "outcome": "credited 100"}
    assert (await balance(client, seller, test=True))["credit_balance"] == 100
    assert (await balance(client, seller, test=False))["credit_balance"] == 0


async def test_a_live_event_signed_with_the_test_secret_is_refused(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0, live_credits=0)
    session = await new_topup(client, seller, test=False)
    response = await deliver(client, completed(session), TEST_SECRET)
    assert response.status_code == 400
    assert response.json()["code"] == "livemode_mismatch"
    assert await stored_events(sessionmaker) == []
    assert (await balance(client, seller, test=True))["credit_balance"] == 0


async def test_a_refund_that_arrives_before_the_payment_is_taken_from_its_deposit(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=5)
    session = await new_topup(client, seller)
    # Our endpoint was down; Stripe's retries arrive in any order.
    early = await deliver(client, refunded(session, amount_refunded=session["amount_total"]))
    assert early.status_code == 200
    assert (await balance(client, seller))["credit_balance"] == 5
    late = await deliver(client, completed(session))
    assert late.json()["outcome"] == "credited 100; took back 100, 0 owed"
    assert (await balance(client, seller))["credit_balance"] == 5
    rows = (await client.get("/v1/billing/transactions", headers=seller.test_headers)).json()
    assert [(row["type"], row["amount"]) for row in rows["transactions"][:2]] == [
        ("adjustment", -100),
        ("deposit", 100),
    ]
    again = await deliver(client, refunded(session, amount_refunded=session["amount_total"]))
    assert again.json()["outcome"] == "nothing more to take back"


async def test_an_early_partial_refund_and_a_later_one_take_back_their_shares(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    await deliver(client, refunded(session, amount_refunded=session["amount_total"] // 4))
    await deliver(client, completed(session))
    assert (await balance(client, seller))["credit_balance"] == 75
    await deliver(client, refunded(session, amount_refunded=session["amount_total"] // 2))
    assert (await balance(client, seller))["credit_balance"] == 50


async def test_a_refund_and_its_payment_delivered_at_once_net_to_zero(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0)
    for _ in range(5):
        session = await new_topup(client, seller)
        responses = await asyncio.gather(
            deliver(client, refunded(session, amount_refunded=session["amount_total"])),
            deliver(client, completed(session)),
        )
        assert [r.status_code for r in responses] == [200, 200]
        assert (await balance(client, seller))["credit_balance"] == 0


@pytest.mark.parametrize("change", [{"amount_total": 999}, {"currency": "eur"}])
async def test_a_payment_of_another_amount_is_recorded_and_not_credited(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    change: dict[str, Any],
) -> None:
    seller = await accounts.create(test_credits=0)
    session = await new_topup(client, seller)
    body = completed({**session, **change})
    response = await deliver(client, body)
    assert response.status_code == 200
    assert response.json()["outcome"].startswith("not credited: paid ")
    assert (await balance(client, seller))["credit_balance"] == 0
    assert await stored_events(sessionmaker) == [(body["id"], response.json()["outcome"])]
    assert await deposits(sessionmaker) == 0


def unrecorded_session(seller: SellerAccount, credits: int, amount_total: int) -> dict[str, Any]:
    """A paid session whose record we lost (a database restored to before it was opened)."""
    metadata = {"account_id": seller.account_id, "credits": str(credits), "mode": "test"}
    return {
        "id": f"cs_test_{uuid.uuid4().hex}",
        "object": "checkout.session",
        "livemode": False,
        "mode": "payment",
        "amount_total": amount_total,
        "currency": "usd",
        "client_reference_id": seller.account_id,
        "metadata": metadata,
    }


async def test_a_paid_session_we_never_recorded_is_credited_when_it_paid_the_price(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0)
    response = await deliver(client, completed(unrecorded_session(seller, 100, 1000)))
    assert response.json()["outcome"] == "credited 100"
    assert (await balance(client, seller))["credit_balance"] == 100


async def test_a_session_we_never_recorded_that_paid_less_is_not_credited(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=0)
    response = await deliver(client, completed(unrecorded_session(seller, 100_000, 50)))
    assert response.json()["outcome"].startswith("not credited: paid 50 usd")
    assert (await balance(client, seller))["credit_balance"] == 0
