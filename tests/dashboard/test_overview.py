"""GET /v1/dashboard/overview: the reference's counts, the balance, API usage and the recent orders."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.dashboard.service import start_of_day_utc
from orderatlas.models.base import utcnow
from tests.factories import AccountFactory, insert_order

pytestmark = pytest.mark.asyncio


async def test_counts_balance_and_the_ten_newest(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=45, live_credits=300)
    midnight = start_of_day_utc(utcnow())
    await insert_order(sessionmaker, seller, created_at=midnight - timedelta(seconds=1), status="delivered")
    await insert_order(sessionmaker, seller, created_at=midnight - timedelta(days=3), status="shipped")
    await insert_order(
        sessionmaker, seller, created_at=midnight + timedelta(seconds=1), status="out_for_delivery"
    )
    for n in range(11):
        await insert_order(
            sessionmaker, seller, created_at=utcnow() - timedelta(seconds=n), status="confirmed"
        )

    response = await client.get("/v1/dashboard/overview", headers=seller.test_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "orders_today",
        "active_tracking",
        "total_orders",
        "credit_balance",
        "api_calls_month",
        "recent_orders",
    }
    assert body["orders_today"] == 12  # since 00:00 UTC: not the one a second before midnight
    assert body["active_tracking"] == 2  # shipped and out_for_delivery
    assert body["total_orders"] == 14
    assert body["credit_balance"] == 45
    listed = (await client.get("/v1/dashboard/orders?limit=10", headers=seller.test_headers)).json()["orders"]
    assert body["recent_orders"] == listed  # the same rows, newest first
    assert len(body["recent_orders"]) == 10


async def test_api_calls_are_counted_per_key_mode_with_this_call_included(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    for _ in range(3):
        assert (await client.get("/v1/dashboard/orders", headers=seller.test_headers)).status_code == 200
    assert (await client.get("/v1/order/nope", headers=seller.test_headers)).status_code == 404  # a call too
    await client.get("/v1/dashboard/orders", headers={"X-API-Key": "oatl_test_wrong"})  # not this account's
    test_view = (await client.get("/v1/dashboard/overview", headers=seller.test_headers)).json()
    assert test_view["api_calls_month"] == 5
    live_view = (await client.get("/v1/dashboard/overview", headers=seller.live_headers)).json()
    assert live_view["api_calls_month"] == 1


async def test_counts_are_scoped_to_the_account_and_mode(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller, other = await accounts.create(), await accounts.create()
    await insert_order(sessionmaker, seller, status="shipped")
    await insert_order(sessionmaker, seller, status="shipped", test_mode=False)
    await insert_order(sessionmaker, seller, status="shipped", test_mode=False)
    await insert_order(sessionmaker, other, status="shipped")
    test_view = (await client.get("/v1/dashboard/overview", headers=seller.test_headers)).json()
    live_view = (await client.get("/v1/dashboard/overview", headers=seller.live_headers)).json()
    assert (test_view["total_orders"], test_view["active_tracking"], len(test_view["recent_orders"])) == (
        1,
        1,
        1,
    )
    assert (live_view["total_orders"], live_view["active_tracking"], len(live_view["recent_orders"])) == (
        2,
        2,
        2,
    )
