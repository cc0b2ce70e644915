"""POST /v1/order/:id/status: ask the retailer now, with the client's credentials, and record what changed."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.models import Order, OrderEvent
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order, order_in
from tests.orders.test_checkout import checkout, order, place

CREDENTIALS = {"account_email": "buyer@example.com", "account_password": "hunter2"}


async def confirmed(
    client: httpx.AsyncClient, worker: WorkerRunner, seller: SellerAccount, **body: Any
) -> dict[str, Any]:
    return await checkout(client, worker, seller, legacy_order(**body))


async def status(
    client: httpx.AsyncClient, seller: SellerAccount, reference: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/order/{reference}/status", json={**CREDENTIALS, **body}, headers=seller.test_headers
    )


async def events(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).where(OrderEvent.order_id == uuid.UUID(order_id))
        return int(await session.scalar(stmt) or 0)


async def test_the_answer_has_the_reference_s_fields_and_what_changed_is_recorded(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, settings: Settings
) -> None:
    settings.sandbox_ship_after_s = 0  # the sandbox's whole timeline has passed: delivered
    seller = await accounts.create()
    placed = await confirmed(client, worker, seller)
    response = await status(client, seller, placed["platform_order_id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "order_id",
        "status",
        "platform",
        "tracking_number",
        "carrier",
        "est_delivery_min",
        "est_delivery_max",
    }
    assert body["order_id"] == placed["platform_order_id"]  # named as the path named it
    assert (body["status"], body["platform"]) == ("delivered", "AmazonUS")
    assert body["tracking_number"] and body["carrier"]
    assert body["est_delivery_min"].endswith("Z") and body["est_delivery_max"] >= body["est_delivery_min"]
    detail = await order(client, seller, placed["id"])
    assert (detail["status"], detail["tracking_number"]) == ("delivered", body["tracking_number"])
    assert detail["order_html_url"] and detail["invoice_link"]
    by_uuid = await status(client, seller, placed["id"])
    assert by_uuid.json()["order_id"] == placed["id"]


async def test_an_unchanged_order_writes_no_event(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    placed = await confirmed(client, worker, seller)  # ships only after 60 s
    before = await events(sessionmaker, placed["id"])
    response = await status(client, seller, placed["id"])
    assert response.json()["status"] == "confirmed"
    assert response.json()["tracking_number"] == ""
    assert await events(sessionmaker, placed["id"]) == before


async def test_a_fresh_login_becomes_the_session_the_refresh_uses(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    placed = await confirmed(client, worker, seller)
    oid = uuid.UUID(placed["id"])
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Order).where(Order.id == oid).values(retailer_session=None, refresh_failures=3)
        )
    assert (await status(client, seller, placed["id"])).status_code == 200
    async with sessionmaker() as session:
        stored = await session.get(Order, oid)
        assert stored is not None
        assert stored.retailer_session is not None and stored.refresh_failures == 0


async def test_a_final_order_is_answered_as_it_stands_without_logging_in(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, "cancelled")
    response = await status(client, seller, order_id, account_email="buyer+login_failed@example.com")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "code", "http_status"),
    [
        ({"account_email": "buyer+login_failed@example.com"}, "login_failed", 422),
        ({"proxy": "203.0.113.7:1"}, "proxy_unreachable", 503),
        ({"account_password": ""}, "missing_field", 400),
        ({"proxy": "not a proxy"}, "invalid_proxy", 400),
    ],
)
async def test_errors_change_nothing(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    body: dict[str, str],
    code: str,
    http_status: int,
) -> None:
    settings.sandbox_ship_after_s = 0  # a lookup that got through would move the order
    seller = await accounts.create()
    placed = await confirmed(client, worker, seller)
    response = await status(client, seller, placed["id"], **body)
    assert response.status_code == http_status, response.text
    assert response.json()["code"] == code
    assert (await order(client, seller, placed["id"]))["status"] == "confirmed"
    assert await events(sessionmaker, placed["id"]) == 3


async def test_a_retailer_that_fails_the_lookup_is_502(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    placed = await confirmed(client, worker, seller, account_email="buyer+refresh_fails@example.com")
    response = await status(client, seller, placed["id"], account_email="buyer+refresh_fails@example.com")
    assert response.status_code == 502
    assert response.json()["code"] == "retailer_unavailable"


async def test_an_order_the_retailer_does_not_know_is_404_on_platform(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, "confirmed")  # never bought by the sandbox
    response = await status(client, seller, order_id)
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found_on_platform"


async def test_an_order_in_checkout_is_409(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    order_id = await place(client, seller, legacy_order())  # pending: no worker ran
    response = await status(client, seller, order_id)
    assert response.status_code == 409
    assert response.json()["code"] == "order_in_progress"


async def test_another_account_s_or_mode_s_order_is_404(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, stranger = await accounts.create(), await accounts.create()
    placed = await confirmed(client, worker, owner)
    for headers in (stranger.test_headers, owner.live_headers):
        response = await client.post(f"/v1/order/{placed['id']}/status", json=CREDENTIALS, headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    live = await order_in(sessionmaker, owner, "confirmed", test_mode=False)
    assert (await status(client, owner, live)).status_code == 404


async def test_a_request_with_no_body_says_the_body_is_required(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, "confirmed")
    response = await client.post(f"/v1/order/{order_id}/status", headers=seller.test_headers)
    assert response.status_code == 400
    assert response.json() == {"error": "a JSON request body is required", "code": "missing_field"}
