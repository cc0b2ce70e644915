"""GET /v1/billing/balance and /v1/billing/transactions: the caller's mode only, bounded, newest first."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.models import CreditTransaction
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order
from tests.orders.test_checkout import order, place

pytestmark = pytest.mark.asyncio


async def transactions(
    client: httpx.AsyncClient, seller: SellerAccount, query: str = "", *, test: bool = True
) -> dict[str, Any]:
    headers = seller.test_headers if test else seller.live_headers
    response = await client.get(f"/v1/billing/transactions{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_balance_shows_the_callers_mode_and_the_price_list(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    settings.cost_order_placement, settings.cost_tracking_conversion, settings.cost_order_import = 3, 2, 1
    seller = await accounts.create(test_credits=1000, live_credits=4500)
    live = (await client.get("/v1/billing/balance", headers=seller.live_headers)).json()
    assert live == {
        "credit_balance": 4500,
        "costs": {"order_placement": 3, "tracking_conversion": 2, "order_import": 1},
        "credits_owed": 0,
        "mode": "live",
    }
    test = (await client.get("/v1/billing/balance", headers=seller.test_headers)).json()
    assert (test["credit_balance"], test["mode"]) == (1000, "test")
    placed = await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    assert placed.json()["credits_remaining"] == 997  # the price list is what is charged


async def test_the_history_names_the_retailers_order_once_known_and_ours_before(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=10)
    confirmed = await place(client, seller, legacy_order())
    failed = await place(client, seller, legacy_order(account_email="buyer+checkout_blocked@example.com"))
    before = await transactions(client, seller)
    assert [row["description"] for row in before["transactions"]] == [
        f"Order placement: {failed}",
        f"Order placement: {confirmed}",
        "Test-mode starting credits: 10",
    ]
    await worker.run()
    platform_order_id = (await order(client, seller, confirmed))["platform_order_id"]
    code = (await order(client, seller, failed))["failure_reason_code"]
    after = await transactions(client, seller)
    assert [(r["amount"], r["type"], r["description"], r["order_id"]) for r in after["transactions"]] == [
        (2, "order_refund", f"Order refund: {failed} ({code})", failed),
        (-2, "order_debit", f"Order placement: {failed}", failed),
        (-2, "order_debit", f"Order placement: {platform_order_id}", confirmed),
        (10, "adjustment", "Test-mode starting credits: 10", ""),
    ]
    assert (after["total"], after["has_more"]) == (4, False)
    assert sum(r["amount"] for r in after["transactions"]) == 8
    assert all(uuid.UUID(r["id"]) and r["created_at"].endswith("Z") for r in after["transactions"])


async def test_test_and_live_histories_are_separate(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=10, live_credits=7)
    await place(client, seller, legacy_order())
    live = await transactions(client, seller, test=False)
    assert [(r["amount"], r["description"]) for r in live["transactions"]] == [
        (7, "Initial grant of 7 credits")
    ]
    test = await transactions(client, seller)
    assert [r["amount"] for r in test["transactions"]] == [-2, 10]
    stranger = await accounts.create()
    cursor = test["transactions"][0]["id"]
    for who in (stranger, seller):  # another account's row, or the other mode's, is no cursor
        refused = await client.get(
            f"/v1/billing/transactions?starting_after={cursor}",
            headers=who.test_headers if who is stranger else who.live_headers,
        )
        assert refused.status_code == 400
        assert "starting_after" in refused.json()["error"]


async def test_limit_offset_and_the_cursor_page_through_newest_first(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=20)
    for _ in range(5):
        await place(client, seller, legacy_order())
    everything = [r["id"] for r in (await transactions(client, seller))["transactions"]]
    assert len(everything) == 6
    page = await transactions(client, seller, "?limit=2")
    assert ([r["id"] for r in page["transactions"]], page["has_more"], page["total"]) == (
        everything[:2],
        True,
        6,
    )
    page = await transactions(client, seller, "?limit=2&offset=4")
    assert ([r["id"] for r in page["transactions"]], page["has_more"]) == (everything[4:], False)
    seen, cursor = [], ""
    while True:
        page = await transactions(client, seller, f"?limit=4{cursor}")
        seen += [r["id"] for r in page["transactions"]]
        if not page["has_more"]:
            break
        cursor = f"&starting_after={seen[-1]}"
    assert seen == everything
    assert page["total"] == 6  # the total is the filter's, whatever the page


async def test_type_and_date_filters(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=20)
    for _ in range(3):
        await place(client, seller, legacy_order())
    old = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(CreditTransaction).where(CreditTransaction.type == "adjustment").values(created_at=old)
        )
    debits = await transactions(client, seller, "?type=order_debit")
    assert (debits["total"], {r["type"] for r in debits["transactions"]}) == (3, {"order_debit"})
    since = (old + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")  # no offset: UTC
    assert (await transactions(client, seller, f"?created_after={since}"))["total"] == 3
    assert (await transactions(client, seller, f"?created_before={since}Z"))["total"] == 1
    window = f"?created_after=2025-12-31T00:00:00%2B00:00&created_before={since}%2B00:00&type=adjustment"
    assert [r["amount"] for r in (await transactions(client, seller, window))["transactions"]] == [20]


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=201",
        "?offset=-1",
        "?type=refund",
        "?starting_after=not-a-uuid",
        # A fixed unknown id: xdist workers must collect the same test ids.
        "?starting_after=5f0c2a8e-3d4b-4c6a-9e1f-7a2b8c9d0e1f",
        "?created_after=yesterday",
    ],
)
async def test_bad_queries_are_400(client: httpx.AsyncClient, accounts: AccountFactory, query: str) -> None:
    seller = await accounts.create()
    response = await client.get(f"/v1/billing/transactions{query}", headers=seller.test_headers)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "code"}


async def test_billing_routes_need_an_api_key(client: httpx.AsyncClient) -> None:
    for path in ("/v1/billing/balance", "/v1/billing/transactions"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
