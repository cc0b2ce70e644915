"""PUT /tracking, POST /delivered and POST /cancelled: the moves a client makes itself."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import Order, OrderEvent, WebhookEvent
from tests.factories import AccountFactory, SellerAccount, order_in
from tests.orders.test_checkout import order


async def confirmed(sessionmaker: async_sessionmaker[AsyncSession], seller: SellerAccount) -> str:
    return await order_in(sessionmaker, seller, "confirmed")


async def payloads(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(WebhookEvent.payload)
            .where(WebhookEvent.order_id == uuid.UUID(order_id))
            .order_by(WebhookEvent.created_at)
        )
        return list(rows)


async def test_tracking_defaults_to_shipped_and_the_webhook_carries_it(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    order_id = await confirmed(sessionmaker, seller)
    detail = await order(client, seller, order_id)
    response = await client.put(
        f"/v1/order/{detail['platform_order_id']}/tracking",
        json={"tracking_number": "1Z999AA10123456784", "carrier": "UPS"},
        headers=seller.test_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_id": detail["platform_order_id"],
        "status": "shipped",
        "tracking_number": "1Z999AA10123456784",
        "carrier": "UPS",
        "message": "shipped",
    }
    [event] = await payloads(sessionmaker, order_id)
    assert event["event"] == "order.status_changed"
    assert (event["previous_status"], event["status"]) == ("confirmed", "shipped")
    assert (event["tracking_number"], event["carrier"]) == ("1Z999AA10123456784", "UPS")
    after = await order(client, seller, order_id)
    assert (after["status"], after["tracking_number"], after["carrier"]) == (
        "shipped",
        "1Z999AA10123456784",
        "UPS",
    )


async def test_the_same_status_again_updates_tracking_without_an_event(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, "shipped", tracking_number="OLD", carrier="UPS")
    response = await client.put(
        f"/v1/order/{order_id}/tracking",
        json={"tracking_number": "NEW123", "carrier": "USPS", "status": "shipped"},
        headers=seller.test_headers,
    )
    assert response.status_code == 200
    assert (await order(client, seller, order_id))["tracking_number"] == "NEW123"
    assert await payloads(sessionmaker, order_id) == []


async def test_delivered_stores_the_photo_and_stops_the_refresh(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, "out_for_delivery", retailer_session="sealed")
    photo = "https://photos.example.com/door.jpg"
    response = await client.post(
        f"/v1/order/{order_id}/delivered", json={"delivery_photo_url": photo}, headers=seller.test_headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "order_id": order_id,
        "status": "delivered",
        "message": "Order marked as delivered",
    }
    detail = await order(client, seller, order_id)
    assert (detail["status"], detail["delivery_photo_url"]) == ("delivered", photo)
    async with sessionmaker() as session:
        stored = await session.get(Order, uuid.UUID(order_id))
        assert stored is not None and stored.retailer_session is None and stored.next_refresh_at is None
    again = await client.post(f"/v1/order/{order_id}/delivered", headers=seller.test_headers)
    assert again.status_code == 200  # asking for the status it has is not a move: no second event
    assert len(await payloads(sessionmaker, order_id)) == 1
    assert (await order(client, seller, order_id))["delivery_photo_url"] == photo


@pytest.mark.parametrize(("body", "status"), [(None, "cancelled"), ({"reason": "lost"}, "lost")])
async def test_cancelled_takes_the_reason_as_the_status(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, str] | None,
    status: str,
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, "shipped")
    response = await client.post(f"/v1/order/{order_id}/cancelled", json=body, headers=seller.test_headers)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "order_id": order_id,
        "status": status,
        "message": f"Order marked as {status}",
    }
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).where(OrderEvent.order_id == uuid.UUID(order_id)))
    assert count == 1


@pytest.mark.parametrize(
    ("method", "action", "body", "code"),
    [
        ("PUT", "tracking", {"carrier": "UPS"}, "missing_field"),
        ("PUT", "tracking", {"tracking_number": ""}, "invalid_request"),
        ("PUT", "tracking", {"tracking_number": "   "}, "invalid_request"),
        ("PUT", "tracking", {"tracking_number": "X" * 101}, "invalid_request"),
        ("PUT", "tracking", {"tracking_number": "1Z", "status": "confirmed"}, "invalid_request"),
        (
            "POST",
            "delivered",
            {"delivery_photo_url": "ftp://example.com/a.jpg"},
            "invalid_delivery_photo_url",
        ),
        ("POST", "cancelled", {"reason": "returned"}, "invalid_request"),
    ],
)
async def test_bad_bodies_are_400_and_change_nothing(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    method: str,
    action: str,
    body: dict[str, str],
    code: str,
) -> None:
    seller = await accounts.create()
    order_id = await confirmed(sessionmaker, seller)
    response = await client.request(
        method, f"/v1/order/{order_id}/{action}", json=body, headers=seller.test_headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert (await order(client, seller, order_id))["status"] == "confirmed"


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("PUT", "tracking", {"tracking_number": "1Z"}),
        ("POST", "delivered", None),
        ("POST", "cancelled", None),
    ],
)
async def test_another_account_s_or_mode_s_order_is_404(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    method: str,
    action: str,
    body: dict[str, str] | None,
) -> None:
    owner, stranger = await accounts.create(), await accounts.create()
    test_order = await confirmed(sessionmaker, owner)
    live_order = await order_in(sessionmaker, owner, "confirmed", test_mode=False)
    for reference, headers in (
        (test_order, stranger.test_headers),
        (test_order, owner.live_headers),
        (live_order, owner.test_headers),
        ("not-an-order", owner.test_headers),
    ):
        response = await client.request(method, f"/v1/order/{reference}/{action}", json=body, headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert (await order(client, owner, test_order))["status"] == "confirmed"
