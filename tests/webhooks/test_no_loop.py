"""A webhook send can never loop: whatever goes wrong is one attempt on the retry schedule."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.db import unit_of_work
from orderatlas.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from orderatlas.models.webhook import TARGET_DISCORD, TARGET_WEBHOOK
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory
from tests.receiver import Receiver, running_receiver
from tests.webhooks.test_delivery import make_due

pytestmark = pytest.mark.asyncio


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def stored_delivery(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: str,
    target: str,
    url: str,
    payload: dict[str, Any] | None = None,
) -> uuid.UUID:
    """A delivery as an older release could have stored it (URLs were not checked for controls)."""
    account = uuid.UUID(account_id)
    if payload is None:
        payload = {"event": "order.created", "status": "pending", "timestamp": "2026-12-01T00:00:00Z"}
    event = WebhookEvent(
        id=uuid.uuid4(), account_id=account, order_id=uuid.uuid4(), event="order.created", payload=payload
    )
    delivery = WebhookDelivery(id=uuid.uuid4(), event=event, account_id=account, target=target, url=url)
    async with unit_of_work(sessionmaker, None) as session:
        session.add_all([event, delivery])
    return delivery.id


async def send_until_settled(
    sessionmaker: async_sessionmaker[AsyncSession], worker: WorkerRunner, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    """Run the sweep and the sends, letting each retry wait pass, until the delivery is no longer
    pending; more rounds than the schedule has attempts means it loops."""
    for _ in range(8):
        await worker.run(with_cron=True)
        async with sessionmaker() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            if delivery.state != "pending":
                attempts = await session.scalars(
                    select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                )
                return delivery, list(attempts)
        await make_due(sessionmaker)
    raise AssertionError("the delivery was still pending after 8 rounds of the sweep: it loops")


async def test_a_receiver_answering_nul_bytes_is_recorded_once_as_delivered(
    sessionmaker: async_sessionmaker[AsyncSession],
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
) -> None:
    seller = await accounts.create()
    receiver.reply_body = b"ok\x00\x00thanks"
    delivery_id = await stored_delivery(sessionmaker, seller.account_id, TARGET_WEBHOOK, receiver.url)
    delivery, attempts = await send_until_settled(sessionmaker, worker, delivery_id)
    assert delivery.state == "delivered"
    assert [(a.response_status, a.response_body) for a in attempts] == [(200, "okthanks")]
    assert len(receiver.requests) == 1


async def test_a_control_character_in_a_stored_url_fails_the_delivery_for_good(
    sessionmaker: async_sessionmaker[AsyncSession], worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    delivery_id = await stored_delivery(
        sessionmaker, seller.account_id, TARGET_WEBHOOK, "https://93.184.216.34/h\x01"
    )
    delivery, attempts = await send_until_settled(sessionmaker, worker, delivery_id)
    assert delivery.state == "failed"
    assert len(attempts) == 1  # retrying cannot make the URL valid
    assert "control characters" in attempts[0].error


async def test_an_unexpected_error_while_sending_follows_the_retry_schedule(
    sessionmaker: async_sessionmaker[AsyncSession],
    worker: WorkerRunner,
    accounts: AccountFactory,
    settings: Settings,
) -> None:
    """Discord targets are not pinned, so httpx itself meets the bad URL (InvalidURL: neither an
    HTTPError nor a ValueError); the schedule, not the lease, decides what happens next."""
    settings.webhook_retry_schedule_s = [5, 10]
    seller = await accounts.create()
    delivery_id = await stored_delivery(
        sessionmaker, seller.account_id, TARGET_DISCORD, "https://discord.com/api/webhooks/1/a\x01b"
    )
    delivery, attempts = await send_until_settled(sessionmaker, worker, delivery_id)
    assert delivery.state == "failed"
    assert len(attempts) == 3  # the first try and one per entry of the schedule
    assert all(a.error.startswith("unexpected error: ") for a in attempts)
    assert delivery.locked_until is None


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("webhook_url", "https://93.184.216.34/h\x01"),
        ("webhook_url", "https://hooks.example.com/a\x7fb"),
        ("discord_webhook_url", "https://discord.com/api/webhooks/1/a\x01b"),
    ],
)
async def test_urls_with_control_characters_are_refused_where_they_are_set(
    client: httpx.AsyncClient, accounts: AccountFactory, field: str, url: str
) -> None:
    seller = await accounts.create()
    answer = await client.put("/v1/settings", json={field: url}, headers=seller.live_headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] in ("invalid_webhook_url", "invalid_discord_webhook_url")


async def test_an_event_that_cannot_be_rendered_fails_once_instead_of_looping(
    sessionmaker: async_sessionmaker[AsyncSession], worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    delivery_id = await stored_delivery(
        sessionmaker, seller.account_id, TARGET_DISCORD, "https://discord.com/api/webhooks/1/a", payload={}
    )
    delivery, attempts = await send_until_settled(sessionmaker, worker, delivery_id)
    assert delivery.state == "failed"
    assert [a.error for a in attempts] == ["the event could not be rendered"]
