"""POST /v1/order/import: an order placed elsewhere, read from the retailer's history, charged once."""

import asyncio
import copy
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.models import CreditTransaction, Order, OrderEvent, WebhookEvent
from tests.conftest import Clock, WorkerRunner
from tests.factories import SHIPPING_ADDRESS, AccountFactory, SellerAccount, legacy_order
from tests.orders.test_checkout import order, place

HAND_PLACED = "112-4567890-1234567"  # in the sandbox's history: ASIN B001234567 at 45.67
NOT_IN_HISTORY = "112-4567890-0000000"


def import_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "platform": "AmazonUS",
        "platform_order_id": HAND_PLACED,
        "account_email": "buyer@example.com",
        "account_password": "hunter2",
        "shipping_address": copy.deepcopy(SHIPPING_ADDRESS),
    }
    body.update(overrides)
    return body


async def do_import(
    client: httpx.AsyncClient, seller: SellerAccount, headers: dict[str, str] | None = None, **overrides: Any
) -> httpx.Response:
    return await client.post(
        "/v1/order/import", json=import_body(**overrides), headers={**seller.test_headers, **(headers or {})}
    )


async def state(sessionmaker: async_sessionmaker[AsyncSession], seller: SellerAccount) -> dict[str, int]:
    account_id = uuid.UUID(seller.account_id)
    async with sessionmaker() as session:

        async def count(model: Any, *where: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {
            "orders": await count(Order, Order.account_id == account_id),
            "import_debits": await count(
                CreditTransaction,
                CreditTransaction.account_id == account_id,
                CreditTransaction.type == "import_debit",
            ),
            "balance_sum": int(
                await session.scalar(
                    select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
                        CreditTransaction.account_id == account_id
                    )
                )
                or 0
            ),
        }


async def test_an_order_from_the_history_is_imported_and_charged_one_credit(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    response = await do_import(client, seller)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "success": True,
        "order_id": HAND_PLACED,
        "status": "confirmed",
        "platform": "AmazonUS",
        "message": "Order imported successfully",
        "id": body["id"],
        "credits_remaining": 9,
    }
    detail = await order(client, seller, HAND_PLACED)
    assert detail["id"] == body["id"]
    assert detail["items"] == [
        {
            "asin": "B001234567",
            "quantity": 1,
            "price_max": 0,
            "price": "$45.67",
            "price_amount": 45.67,
            "seller": "Amazon.com",
            "outcome": "placed",
        }
    ]
    assert (detail["price"], detail["total_amount"], detail["logged_in"]) == ("$45.67", 45.67, True)
    assert await state(sessionmaker, seller) == {"orders": 1, "import_debits": 1, "balance_sum": 9}
    async with sessionmaker() as session:
        order_id = uuid.UUID(body["id"])
        history = await session.execute(select(OrderEvent.previous_status, OrderEvent.status))
        assert [tuple(r) for r in history] == [(None, "confirmed")]
        hooks = await session.scalars(select(WebhookEvent.event).where(WebhookEvent.order_id == order_id))
        assert list(hooks) == ["order.created"]
        stored = await session.get(Order, order_id)
        assert stored is not None and stored.imported and stored.retailer_session is not None


async def test_an_id_the_history_does_not_hold_is_404_and_free(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    for missing in (NOT_IN_HISTORY, "ABC-123", "999-99-99"):
        response = await do_import(client, seller, platform_order_id=missing)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "order_not_found_on_platform"
    assert await state(sessionmaker, seller) == {"orders": 0, "import_debits": 0, "balance_sum": 10}


async def test_an_id_the_account_already_has_is_409_and_charged_once(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    assert (await do_import(client, seller)).status_code == 200
    again = await do_import(client, seller)
    assert again.status_code == 409
    assert again.json()["code"] == "order_exists"
    placed_id = await place(client, seller, legacy_order())  # and one placed through OrderAtlas
    await worker.run()
    platform_order_id = (await order(client, seller, placed_id))["platform_order_id"]
    placed_again = await do_import(client, seller, platform_order_id=platform_order_id)
    assert placed_again.status_code == 409
    assert await state(sessionmaker, seller) == {"orders": 2, "import_debits": 1, "balance_sum": 7}


async def test_concurrent_twins_make_one_order_and_one_charge(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    responses = await asyncio.gather(*(do_import(client, seller) for _ in range(6)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"order_exists"}
    assert await state(sessionmaker, seller) == {"orders": 1, "import_debits": 1, "balance_sum": 9}


async def test_a_replayed_idempotency_key_answers_the_same_bytes_and_charges_once(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    key = {"Idempotency-Key": "import-1"}
    first = await do_import(client, seller, key)
    second = await do_import(client, seller, key)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    twins = await asyncio.gather(
        *(do_import(client, seller, {"Idempotency-Key": "import-2"}) for _ in range(4))
    )
    assert {r.status_code for r in twins} <= {409}  # the order exists: a new key may not import it again
    reused = await do_import(client, seller, key, platform_order_id="112-4567890-7654321")
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await state(sessionmaker, seller) == {"orders": 1, "import_debits": 1, "balance_sum": 9}


async def test_concurrent_twins_with_one_idempotency_key_import_once(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    twins = await asyncio.gather(*(do_import(client, seller, {"Idempotency-Key": "k"}) for _ in range(5)))
    assert {r.status_code for r in twins} <= {200, 409}
    assert [r.status_code for r in twins].count(200) >= 1
    assert len({r.content for r in twins if r.status_code == 200}) == 1
    assert await state(sessionmaker, seller) == {"orders": 1, "import_debits": 1, "balance_sum": 9}


async def test_a_short_balance_is_402_and_writes_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=0)
    response = await do_import(client, seller)
    assert response.status_code == 402
    assert response.json() == {
        "error": "insufficient credits: have 0, need 1",
        "code": "insufficient_credits",
        "credits_remaining": 0,
    }
    assert await state(sessionmaker, seller) == {"orders": 0, "import_debits": 0, "balance_sum": 0}


async def test_the_import_cost_is_the_setting(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    settings.cost_order_import = 3
    seller = await accounts.create(test_credits=10)
    assert (await do_import(client, seller)).json()["credits_remaining"] == 7


@pytest.mark.parametrize(
    ("overrides", "code", "http_status"),
    [
        ({"account_email": "buyer+login_failed@example.com"}, "login_failed", 422),
        ({"proxy": "203.0.113.7:1"}, "proxy_unreachable", 503),
        ({"shipping_address": None}, "invalid_request", 400),
        ({"platform_order_id": "has spaces in it"}, "invalid_platform_order_id", 400),
        ({"platform_order_id": ""}, "invalid_platform_order_id", 400),
        ({"platform": "Walmart"}, "invalid_platform", 400),
        ({"account_password": ""}, "missing_field", 400),
    ],
)
async def test_bad_requests_are_refused_before_any_charge(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    code: str,
    http_status: int,
) -> None:
    seller = await accounts.create(test_credits=10)
    response = await do_import(client, seller, **overrides)
    assert response.status_code == http_status, response.text
    assert response.json()["code"] == code
    assert await state(sessionmaker, seller) == {"orders": 0, "import_debits": 0, "balance_sum": 10}


async def test_shipping_address_is_required(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create(test_credits=10)
    body = import_body()
    del body["shipping_address"]
    response = await client.post("/v1/order/import", json=body, headers=seller.test_headers)
    assert response.status_code == 400
    assert response.json() == {"error": "shipping_address is required", "code": "missing_field"}


async def test_test_and_live_imports_are_separate_worlds(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    seller = await accounts.create(test_credits=10, live_credits=5)
    no_retailer = await client.post("/v1/order/import", json=import_body(), headers=seller.live_headers)
    assert no_retailer.status_code == 503
    assert no_retailer.json()["code"] == "retailer_not_configured"
    settings.retailer = "sandbox"
    assert (await do_import(client, seller)).status_code == 200
    live = await client.post("/v1/order/import", json=import_body(), headers=seller.live_headers)
    assert live.status_code == 200, live.text
    assert live.json()["id"] != (await order(client, seller, HAND_PLACED))["id"]
    assert live.json()["credits_remaining"] == 4  # each mode's own balance paid for its own import
    test_balance = await client.get("/v1/billing/balance", headers=seller.test_headers)
    assert test_balance.json()["credit_balance"] == 9


async def test_an_imported_order_is_followed_like_a_placed_one(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, settings: Settings
) -> None:
    settings.sandbox_ship_after_s = 60
    seller = await accounts.create(test_credits=10)
    imported = (await do_import(client, seller)).json()
    clock = Clock()  # from now on: the import made the order due at once
    await worker.run(with_cron=True, clock=clock)  # the first refresh: copies, still confirmed
    detail = await order(client, seller, HAND_PLACED)
    assert detail["status"] == "confirmed" and detail["invoice_link"] and detail["order_html_url"]
    pushed = await client.put(
        f"/v1/order/{HAND_PLACED}/tracking",
        json={"tracking_number": "TBA000000000001", "carrier": "AMZL", "status": "shipped"},
        headers=seller.test_headers,
    )
    assert pushed.json() == {
        "order_id": HAND_PLACED,
        "status": "shipped",
        "tracking_number": "TBA000000000001",
        "carrier": "AMZL",
        "message": "shipped",
    }
    clock.advance(2 * 60 + 1)  # the sandbox's timeline for the order runs on: out for delivery
    await worker.run(with_cron=True, clock=clock)
    detail = await order(client, seller, HAND_PLACED)
    assert (detail["id"], detail["status"]) == (imported["id"], "out_for_delivery")
    assert detail["tracking_number"] == "TBA000000000001"


async def test_an_import_keeps_the_clients_references(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    metadata = {"ebay_store": "main", "buyer": "jdoe42"}
    response = await do_import(client, seller, external_order_id=" 27-33333-44444 ", metadata=metadata)
    assert response.status_code == 200, response.text
    detail = await order(client, seller, HAND_PLACED)
    assert (detail["external_order_id"], detail["metadata"]) == ("27-33333-44444", metadata)
    listed = await client.get("/v1/orders?external_order_id=27-33333-44444", headers=seller.test_headers)
    assert [o["id"] for o in listed.json()["orders"]] == [response.json()["id"]]
    async with sessionmaker() as session:
        payload = await session.scalar(
            select(WebhookEvent.payload).where(WebhookEvent.order_id == uuid.UUID(response.json()["id"]))
        )
    assert payload is not None
    assert (payload["external_order_id"], payload["metadata"]) == ("27-33333-44444", metadata)


async def test_an_import_with_broken_references_is_400_naming_the_rule_and_charges_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    nested = await do_import(client, seller, metadata={"count": 3})
    assert nested.status_code == 400
    assert nested.json() == {
        "error": 'metadata values must be strings: "count" is a number (no nesting)',
        "code": "invalid_metadata",
    }
    too_long = await do_import(client, seller, external_order_id="x" * 101)
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid_external_order_id"
    assert await state(sessionmaker, seller) == {"orders": 0, "import_debits": 0, "balance_sum": 10}
