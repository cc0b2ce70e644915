"""GET /v1/sandbox/purchases: the sandbox retailer's own order history, per account."""

import httpx
import pytest

from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order, multi_order
from tests.orders.test_checkout import place

pytestmark = pytest.mark.asyncio


async def test_purchases_show_what_the_sandbox_bought(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=10)
    placed = await place(client, seller, multi_order())
    failed = await place(client, seller, legacy_order(account_email="buyer+checkout_blocked@example.com"))
    await worker.run()
    response = await client.get("/v1/sandbox/purchases", headers=seller.test_headers)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    [purchase] = body["purchases"]
    assert purchase["order_id"] == placed != failed
    detail = (await client.get(f"/v1/order/{placed}", headers=seller.test_headers)).json()
    assert purchase["platform_order_id"] == detail["platform_order_id"]
    assert [(line["asin"], line["quantity"]) for line in purchase["lines"]] == [
        ("B09V3KXJPB", 1),
        ("B0CLWJ1423", 2),
    ]
    assert purchase["subtotal"] == detail["price_amount"]
    assert purchase["created_at"].endswith("Z")


async def test_purchases_filter_by_order_and_paginate(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=20)
    order_ids = [await place(client, seller, legacy_order()) for _ in range(3)]
    await worker.run()
    one = (
        await client.get(f"/v1/sandbox/purchases?order_id={order_ids[1]}", headers=seller.test_headers)
    ).json()
    assert [p["order_id"] for p in one["purchases"]] == [order_ids[1]]
    page = (await client.get("/v1/sandbox/purchases?limit=2&offset=2", headers=seller.test_headers)).json()
    assert page["total"] == 3
    assert len(page["purchases"]) == 1


async def test_purchases_are_private_to_the_account(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    owner, stranger = await accounts.create(), await accounts.create()
    await place(client, owner, legacy_order())
    await worker.run()
    body = (await client.get("/v1/sandbox/purchases", headers=stranger.test_headers)).json()
    assert body == {"purchases": [], "total": 0}


async def test_live_keys_get_403(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    response = await client.get("/v1/sandbox/purchases", headers=seller.live_headers)
    assert response.status_code == 403
    assert response.json()["code"] == "test_key_required"


@pytest.mark.parametrize("query", ["limit=201", "limit=0", "offset=-1", "order_id=not-a-uuid"])
async def test_bad_paging_is_400(client: httpx.AsyncClient, accounts: AccountFactory, query: str) -> None:
    seller = await accounts.create()
    response = await client.get(f"/v1/sandbox/purchases?{query}", headers=seller.test_headers)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "code"}
