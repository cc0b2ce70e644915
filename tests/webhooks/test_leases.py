"""A delivery belongs to one sender at a time: stale outcomes are ignored, redelivery waits its turn."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.db import unit_of_work
from orderatlas.models import WebhookDelivery
from orderatlas.models.base import utcnow
from orderatlas.webhooks import service
from orderatlas.webhooks.client import Attempt
from tests.factories import AccountFactory, legacy_order
from tests.orders.test_checkout import place
from tests.webhooks.test_delivery import deliveries, point_at

pytestmark = pytest.mark.asyncio


async def _created_delivery(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
):  # type: ignore[no-untyped-def]
    seller = await accounts.create()
    await point_at(client, seller, "http://127.0.0.1:9/hook")
    await place(client, seller, legacy_order())
    async with sessionmaker() as session:
        delivery_id = await session.scalar(select(WebhookDelivery.id))
    assert delivery_id is not None
    return seller, delivery_id


async def test_redelivery_is_refused_while_a_send_is_in_flight(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    seller, delivery_id = await _created_delivery(client, accounts, sessionmaker)
    async with unit_of_work(sessionmaker, None) as session:
        assert await service.claim(session, delivery_id, settings) is not None
    response = await client.post(
        f"/v1/webhooks/deliveries/{delivery_id}/redeliver", headers=seller.test_headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "delivery_in_flight"


async def test_an_outcome_that_arrives_after_its_lease_is_ignored(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    seller, delivery_id = await _created_delivery(client, accounts, sessionmaker)
    async with unit_of_work(sessionmaker, None) as session:
        slow = await service.claim(session, delivery_id, settings)
    async with sessionmaker() as session, session.begin():  # the slow sender's lease runs out
        await session.execute(update(WebhookDelivery).values(locked_until=utcnow() - timedelta(seconds=1)))
    async with unit_of_work(sessionmaker, None) as session:
        fast = await service.claim(session, delivery_id, settings)
    assert slow is not None and fast is not None
    async with unit_of_work(sessionmaker, None) as session:
        await service.record_attempt(session, fast, Attempt(200, 5, body="ok"), settings)
    async with unit_of_work(sessionmaker, None) as session:
        await service.record_attempt(session, slow, Attempt(500, 9000, body="late"), settings)
    [created] = await deliveries(client, seller, "event=order.created")
    assert created["outcome"] == "delivered"
    assert sorted(a["response_status"] for a in created["attempts"]) == [200, 500]  # both logged
    assert uuid.UUID(created["id"]) == delivery_id


async def test_finished_events_are_purged_after_the_retention_period_pending_ones_never(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    from orderatlas.models import WebhookEvent
    from orderatlas.models.webhook import DELIVERED

    seller, _ = await _created_delivery(client, accounts, sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(WebhookEvent).values(created_at=utcnow() - timedelta(days=31)))
    async with unit_of_work(sessionmaker, None) as session:
        assert await service.purge_history(session, settings) == 0  # still pending: kept
    async with sessionmaker() as session, session.begin():
        await session.execute(update(WebhookDelivery).values(state=DELIVERED))
    async with unit_of_work(sessionmaker, None) as session:
        assert await service.purge_history(session, settings) == 1
    assert await deliveries(client, seller) == []
