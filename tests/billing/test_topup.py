"""POST /v1/billing/topup: a Stripe Checkout Session through the real SDK, mocked at Stripe's endpoint."""

import logging

import httpx
import psycopg
import pytest
import respx
from sqlalchemy import func, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.billing.stripe_api import StripeGateway
from orderatlas.config import Settings
from orderatlas.models import CreditTopup
from tests.billing.stripe_helpers import (
    LIVE_KEY,
    STRIPE_SESSIONS,
    TEST_KEY,
    TOPUP,
    configure_stripe,
    mock_sessions,
    sent_params,
)
from tests.factories import AccountFactory
from tests.fake_stripe import FakeStripe

pytestmark = pytest.mark.asyncio


async def topups(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(CreditTopup)) or 0)


async def test_a_top_up_opens_a_payment_session_for_the_account_and_its_credits(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    configure_stripe(settings)
    settings.credit_price_cents, settings.credit_currency = 12, "EUR"
    seller = await accounts.create()
    with respx.mock() as stripe:
        route = mock_sessions(stripe)
        response = await client.post("/v1/billing/topup", json=TOPUP, headers=seller.live_headers)
    assert response.status_code == 200, response.text
    request = route.calls.last.request
    session = route.calls.last.response.json()
    assert response.json() == {"checkout_url": session["url"], "credits": 100}
    assert request.headers["Authorization"] == f"Bearer {LIVE_KEY}"
    assert request.headers["Idempotency-Key"].startswith("orderatlas-topup-")
    params = sent_params(request)
    assert params["mode"] == "payment"
    assert params["line_items"] == {
        "0": {
            "quantity": "100",
            "price_data": {
                "currency": "eur",
                "unit_amount": "12",
                "product_data": {"name": "OrderAtlas credits"},
            },
        }
    }
    assert params["client_reference_id"] == seller.account_id
    metadata = {"account_id": seller.account_id, "credits": "100", "mode": "live"}
    assert params["metadata"].items() >= metadata.items()
    assert params["payment_intent_data"]["metadata"] == params["metadata"]
    assert (params["success_url"], params["cancel_url"]) == (TOPUP["success_url"], TOPUP["cancel_url"])
    assert session["amount_total"] == 1200


async def test_a_test_key_pays_through_stripe_test_mode(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    configure_stripe(settings)
    seller = await accounts.create()
    with respx.mock() as stripe:
        route = mock_sessions(stripe)
        response = await client.post("/v1/billing/topup", json=TOPUP, headers=seller.test_headers)
    assert response.status_code == 200, response.text
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert sent_params(route.calls.last.request)["metadata"]["mode"] == "test"


async def test_without_the_modes_stripe_key_it_is_503_and_nothing_is_asked(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    configure_stripe(settings)
    settings.stripe_secret_key = None
    seller = await accounts.create()
    with respx.mock() as stripe:
        route = mock_sessions(stripe)
        live = await client.post("/v1/billing/topup", json=TOPUP, headers=seller.live_headers)
        test = await client.post("/v1/billing/topup", json=TOPUP, headers=seller.test_headers)
    assert live.status_code == 503
    assert live.json()["code"] == "billing_not_configured"
    assert "ORDERATLAS_STRIPE_SECRET_KEY" in live.json()["error"]
    assert test.status_code == 200  # the test-mode key is configured
    assert route.call_count == 1


async def test_a_retry_with_the_same_idempotency_key_opens_one_session(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    configure_stripe(settings)
    seller = await accounts.create()
    headers = {**seller.test_headers, "Idempotency-Key": "click-1"}
    fake = FakeStripe()
    with respx.mock() as stripe:
        route = mock_sessions(stripe, fake)
        first = await client.post("/v1/billing/topup", json=TOPUP, headers=headers)
        again = await client.post("/v1/billing/topup", json=TOPUP, headers=headers)
        other = await client.post("/v1/billing/topup", json=TOPUP, headers=seller.test_headers)
    assert other.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    # Stripe is asked before the key is claimed; it answers the retry with the first session.
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] == keys[1] != keys[2]  # the unkeyed request is a new purchase
    assert len(fake.sessions) == 2
    assert await topups(sessionmaker) == 2


async def test_a_retry_after_stripes_answer_was_lost_gets_the_same_checkout_session(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    configure_stripe(settings)
    seller = await accounts.create()
    headers = {**seller.test_headers, "Idempotency-Key": "click-2"}
    fake = FakeStripe()

    def answer_lost(request: httpx.Request) -> httpx.Response:
        fake.respond(request)  # Stripe opens the session ...
        raise httpx.ReadTimeout("timed out", request=request)  # ... and its answer never arrives

    with respx.mock() as stripe:
        route = stripe.post(STRIPE_SESSIONS).mock(side_effect=answer_lost)
        failed = await client.post("/v1/billing/topup", json=TOPUP, headers=headers)
        route.side_effect = fake.respond  # the network is back; the client retries with its key
        retried = await client.post("/v1/billing/topup", json=TOPUP, headers=headers)
    assert failed.status_code == 502
    assert failed.json()["code"] == "stripe_error"
    assert retried.status_code == 200, retried.text
    assert len(fake.sessions) == 1
    (session,) = fake.sessions.values()
    assert retried.json() == {"checkout_url": session["url"], "credits": 100}
    assert len({call.request.headers["Idempotency-Key"] for call in route.calls}) == 1
    async with sessionmaker() as db:
        recorded = (await db.scalars(select(CreditTopup))).all()
    assert [topup.stripe_session_id for topup in recorded] == [session["id"]]


@pytest.mark.parametrize(
    ("stripe_status", "status", "code"),
    [(400, 422, "idempotency_key_reused"), (409, 409, "idempotency_conflict")],
)
async def test_stripes_idempotency_error_is_a_clear_client_error(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    stripe_status: int,
    status: int,
    code: str,
) -> None:
    configure_stripe(settings)
    seller = await accounts.create()
    refusal = httpx.Response(
        stripe_status, json={"error": {"type": "idempotency_error", "message": "Keys for idempotent ..."}}
    )
    with respx.mock() as stripe:
        stripe.post(STRIPE_SESSIONS).mock(return_value=refusal)
        response = await client.post(
            "/v1/billing/topup", json=TOPUP, headers={**seller.test_headers, "Idempotency-Key": "k"}
        )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert await topups(sessionmaker) == 0


def transactions_open(database_url: str) -> int:
    """Connections of this database inside an open transaction, as PostgreSQL itself sees them."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else -1


async def test_a_failure_stripe_replays_for_the_key_says_to_use_a_new_one(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    configure_stripe(settings)
    seller = await accounts.create()
    failure = {"error": {"type": "api_error", "message": "An unknown error occurred"}}
    replayed = httpx.Response(
        500, json=failure, headers={"Idempotent-Replayed": "true", "Stripe-Should-Retry": "false"}
    )
    with respx.mock() as stripe:
        route = stripe.post(STRIPE_SESSIONS).mock(return_value=replayed)
        response = await client.post(
            "/v1/billing/topup", json=TOPUP, headers={**seller.test_headers, "Idempotency-Key": "k"}
        )
    assert response.status_code == 502
    assert response.json()["code"] == "stripe_error"
    assert "with a new Idempotency-Key" in response.json()["error"]
    assert route.call_count == 1  # Stripe said not to retry


async def test_no_database_transaction_is_held_open_while_stripe_is_asked(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    configure_stripe(settings)
    seller = await accounts.create()
    fake = FakeStripe()
    held: list[int] = []

    def watching(request: httpx.Request) -> httpx.Response:
        held.append(transactions_open(settings.database_url or ""))
        return fake.respond(request)

    with respx.mock() as stripe:
        stripe.post(STRIPE_SESSIONS).mock(side_effect=watching)
        for headers in (seller.test_headers, {**seller.test_headers, "Idempotency-Key": "click-3"}):
            response = await client.post("/v1/billing/topup", json=TOPUP, headers=headers)
            assert response.status_code == 200, response.text
    assert held == [0, 0]


async def test_a_stripe_key_of_the_other_mode_is_refused_and_stripe_is_not_asked(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    configure_stripe(settings)
    settings.stripe_secret_key = "sk_test_pasted_into_the_live_variable"  # card 4242 would buy live credits
    seller = await accounts.create()
    with respx.mock() as stripe:
        route = mock_sessions(stripe)
        live = await client.post("/v1/billing/topup", json=TOPUP, headers=seller.live_headers)
        test = await client.post("/v1/billing/topup", json=TOPUP, headers=seller.test_headers)
    assert live.status_code == 503
    assert live.json() == {
        "error": "live-mode top-ups are refused: ORDERATLAS_STRIPE_SECRET_KEY holds a test-mode key",
        "code": "billing_not_configured",
    }
    assert test.status_code == 200
    assert [call.request.headers["Authorization"] for call in route.calls] == [f"Bearer {TEST_KEY}"]


async def test_stripe_keys_that_do_not_look_like_their_mode_are_reported_at_start_up(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    configure_stripe(settings)
    with caplog.at_level(logging.WARNING, logger="orderatlas.billing.stripe_api"):
        StripeGateway(settings)
    assert caplog.records == []
    settings.stripe_secret_key, settings.stripe_test_secret_key = "rk_test_abc", "fake_local_key"
    with caplog.at_level(logging.WARNING, logger="orderatlas.billing.stripe_api"):
        StripeGateway(settings)
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records] == [
        ("ERROR", "ORDERATLAS_STRIPE_SECRET_KEY holds a test-mode Stripe key"),
        ("WARNING", "ORDERATLAS_STRIPE_TEST_SECRET_KEY does not start with sk_test_ or rk_test_"),
    ]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"credits": 9}, "invalid_credits"),
        ({"credits": 100_001}, "invalid_credits"),
        ({"credits": "100"}, "invalid_request"),
        ({"credits": True}, "invalid_request"),
        ({"success_url": "javascript:alert(1)"}, "invalid_url"),
        ({"cancel_url": "ftp://shop.example/"}, "invalid_url"),
        ({"cancel_url": "https://"}, "invalid_url"),
        ({"success_url": "http://shop.example:99999/"}, "invalid_url"),
    ],
)
async def test_bad_input_is_400_and_asks_stripe_nothing(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    change: dict[str, object],
    code: str,
) -> None:
    configure_stripe(settings)
    seller = await accounts.create()
    with respx.mock(assert_all_called=False) as stripe:
        route = mock_sessions(stripe)
        response = await client.post(
            "/v1/billing/topup", json={**TOPUP, **change}, headers=seller.test_headers
        )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert route.call_count == 0
    assert await topups(sessionmaker) == 0


async def test_a_top_up_needs_an_api_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/billing/topup", json=TOPUP)
    assert response.status_code == 401
