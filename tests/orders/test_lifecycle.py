"""The status machine: the allowed moves, and every forbidden one refused over HTTP with nothing changed."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import Order, OrderEvent, WebhookEvent
from orderatlas.orders import lifecycle
from orderatlas.orders import statuses as st
from tests.factories import AccountFactory, SellerAccount, order_in

PLACED = ["confirmed", "purchased", "warning", "awaiting_approval", "payment_revision"]
SHIPPING = ["shipped", "out_for_delivery"]
FINAL = ["failed", "PRICE_EXCEEDED", "cancelled", "lost", "refunded"]


def test_the_machine_is_the_one_the_issue_writes_down() -> None:
    expected: dict[str, set[str]] = {
        "pending": {"processing", "failed"},
        "processing": {*PLACED, "failed", "PRICE_EXCEEDED"},
        "confirmed": {"purchased", *SHIPPING, "delivered", "cancelled", "lost", "refunded"},
        "purchased": {*SHIPPING, "delivered", "cancelled", "lost", "refunded"},
        "shipped": {"out_for_delivery", "delivered", "cancelled", "lost", "refunded"},
        "out_for_delivery": {"delivered", "cancelled", "lost", "refunded"},
        "delivered": {"refunded"},
        **{
            hold: {"confirmed", "purchased", *SHIPPING, "delivered", "cancelled", "lost", "refunded"}
            for hold in ("warning", "awaiting_approval", "payment_revision")
        },
        **{final: set() for final in FINAL},
    }
    assert {status: set(targets) for status, targets in lifecycle.MOVES.items()} == expected
    assert set(lifecycle.MOVES) == set(st.ALL_STATUSES)


def test_nothing_moves_backwards() -> None:
    rank = {**dict.fromkeys(["pending"], 0), "processing": 1, **dict.fromkeys(PLACED, 2)}
    rank |= {"shipped": 3, "out_for_delivery": 4, "delivered": 5, **dict.fromkeys(FINAL, 6)}
    for status, targets in lifecycle.MOVES.items():
        for target in targets:
            assert rank[target] >= rank[status], (status, target)


# Each target a client can ask for, and the request that asks for it.
def _request(target: str) -> tuple[str, str, dict[str, Any] | None]:
    if target in ("shipped", "out_for_delivery"):
        return (
            "PUT",
            "tracking",
            {"tracking_number": "1Z999AA10123456784", "carrier": "UPS", "status": target},
        )
    if target == "delivered":
        return "POST", "delivered", {"delivery_photo_url": "https://photos.example.com/1.jpg"}
    if target in ("cancelled", "lost"):
        return "POST", "cancelled", {"reason": target}
    return "POST", "advance", {"status": target}


async def _snapshot(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> tuple[Any, ...]:
    async with sessionmaker() as session:
        order = await session.get(Order, uuid.UUID(order_id))
        assert order is not None
        events = await session.scalar(select(func.count()).where(OrderEvent.order_id == order.id))
        hooks = await session.scalar(select(func.count()).where(WebhookEvent.order_id == order.id))
        return (
            order.status,
            order.tracking_number,
            order.carrier,
            order.delivery_photo_url,
            order.updated_at,
            events,
            hooks,
        )


async def call(
    client: httpx.AsyncClient, seller: SellerAccount, order_id: str, target: str
) -> httpx.Response:
    method, action, body = _request(target)
    path = (
        f"/v1/sandbox/orders/{order_id}/advance" if action == "advance" else f"/v1/order/{order_id}/{action}"
    )
    return await client.request(method, path, json=body, headers=seller.test_headers)


CLIENT_TARGETS = ["shipped", "out_for_delivery", "delivered", "cancelled", "lost"]
ADVANCE_TARGETS = ["confirmed", "purchased", "refunded"]


@pytest.mark.parametrize("current", sorted(st.ALL_STATUSES))
async def test_every_forbidden_move_is_409_invalid_transition_and_changes_nothing(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    current: str,
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, current)
    # Only the checkout moves an order out of pending and processing: a client or the sandbox never.
    in_flight = current in st.IN_FLIGHT_STATUSES
    forbidden = [
        target
        for target in CLIENT_TARGETS + ADVANCE_TARGETS
        if target != current and (in_flight or not lifecycle.can_move(current, target))
    ]
    before = await _snapshot(sessionmaker, order_id)
    for target in forbidden:
        response = await call(client, seller, order_id, target)
        assert response.status_code == 409, (current, target, response.text)
        assert response.json()["code"] == "invalid_transition"
        assert f"cannot move to {target}" in response.json()["error"] or in_flight
    assert await _snapshot(sessionmaker, order_id) == before
    if in_flight or current in FINAL:  # nothing a client asks for is allowed
        assert forbidden == [t for t in CLIENT_TARGETS + ADVANCE_TARGETS if t != current]


@pytest.mark.parametrize("current", [*PLACED, *SHIPPING])
async def test_every_allowed_client_move_is_made_once(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    current: str,
) -> None:
    seller = await accounts.create()
    for target in CLIENT_TARGETS:
        if not lifecycle.can_move(current, target):
            continue
        order_id = await order_in(sessionmaker, seller, current)
        response = await call(client, seller, order_id, target)
        assert response.status_code == 200, (current, target, response.text)
        assert response.json()["status"] == target
        async with sessionmaker() as session:
            rows = await session.execute(
                select(OrderEvent.previous_status, OrderEvent.status).where(
                    OrderEvent.order_id == uuid.UUID(order_id)
                )
            )
            assert [tuple(row) for row in rows] == [(current, target)]
