"""Labels after they are minted: the sandbox's numbers, and the refresh that follows every label,
dropped ones included, until its parcel is delivered or cancelled."""

import uuid
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.conversion.base import LabelRequest
from orderatlas.conversion.registry import Providers
from orderatlas.conversion.sandbox import SandboxConversion, label_number
from orderatlas.conversion.tasks import refresh_due_labels
from orderatlas.db import unit_of_work
from tests.conftest import Clock
from tests.conversion.helpers import labels, placed
from tests.factories import SHIPPING_ADDRESS, AccountFactory

Maker = async_sessionmaker[AsyncSession]


def request(zip_code: str, attempt: int = 1) -> LabelRequest:
    return LabelRequest("order-1", "AmazonUS", {}, {**SHIPPING_ADDRESS, "zip": zip_code}, "", "", attempt)


async def test_the_sandbox_mints_reference_shaped_numbers_the_same_for_the_same_attempt() -> None:
    sandbox = SandboxConversion(slow_s=0)
    first, again = await sandbox.mint(request("78701")), await sandbox.mint(request("78701"))
    assert first.label is not None and first.label == again.label
    assert first.label.number == label_number("order-1", 1) and len(first.label.number) == 17
    assert first.label.number.startswith("AQUAA") and first.label.number.endswith("YQ")
    assert (await sandbox.mint(request("78701", attempt=2))).label != first.label
    rejected = await sandbox.mint(request("00000"))
    assert rejected.failure is not None and (rejected.failure.code, rejected.failure.retryable) == (
        "label_rejected",
        False,
    )
    once = [await sandbox.mint(request("00001", attempt)) for attempt in (1, 2)]
    assert (
        once[0].failure is not None
        and once[0].failure.code == "provider_unavailable"
        and once[1].label is not None
    )
    assert (await sandbox.mint(request("00002", attempt=5))).failure is not None


def _ctx(sessionmaker: Maker, redis: ArqRedis, settings: Settings, clock: Clock) -> dict[str, Any]:
    """What the worker gives its jobs (jobs._startup)."""
    return {
        "sessionmaker": sessionmaker,
        "redis": redis,
        "settings": settings,
        "clock": clock,
        "providers": Providers(settings),
    }


async def test_a_dropped_label_is_refreshed_until_its_parcel_is_delivered(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: Maker,
    redis: ArqRedis,
    settings: Settings,
) -> None:
    clock = Clock()
    ctx = _ctx(sessionmaker, redis, settings, clock)
    seller = await accounts.create(test_credits=5)
    order_id = await placed(sessionmaker, seller, "shipped")
    assert (
        await client.post(f"/v1/order/{order_id}/convert", headers=seller.test_headers)
    ).status_code == 200
    assert (
        await client.post(f"/v1/order/{order_id}/drop-conversion", headers=seller.test_headers)
    ).status_code == 200
    assert await refresh_due_labels(ctx) == 0  # not due before its interval

    clock.advance(settings.tracking_refresh_s * 1.25 + 1)
    assert await refresh_due_labels(ctx) == 1
    [label] = await labels(sessionmaker, order_id)
    assert (label.state, label.status, label.refreshed_at) == ("dropped", "in_transit", clock())
    assert label.next_refresh_at is not None and label.next_refresh_at > clock()

    async with unit_of_work(sessionmaker, None) as session:
        await session.execute(
            text("UPDATE orders SET status = 'delivered' WHERE id = :id"), {"id": uuid.UUID(order_id)}
        )
    clock.advance(settings.tracking_refresh_s * 1.25 + 1)
    assert await refresh_due_labels(ctx) == 1
    [label] = await labels(sessionmaker, order_id)
    assert (label.status, label.next_refresh_at) == ("delivered", None)
    clock.advance(settings.tracking_refresh_s * 2)
    assert await refresh_due_labels(ctx) == 0  # followed no more
