"""Order events reach a real receiver on 127.0.0.1, signed both ways, retried, never lost."""

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from orderatlas.config import Settings
from orderatlas.db import unit_of_work
from orderatlas.models import Order, WebhookDelivery, WebhookEvent
from orderatlas.models.base import utcnow
from orderatlas.webhooks.payloads import ORDER_STATUS_CHANGED
from orderatlas.webhooks.service import emit_order_event
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order
from tests.orders.test_checkout import place
from tests.receiver import Receiver, running_receiver

pytestmark = pytest.mark.asyncio


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def settings_of(client: httpx.AsyncClient, seller: SellerAccount) -> dict[str, Any]:
    return dict((await client.get("/v1/settings", headers=seller.test_headers)).json())


async def point_at(client: httpx.AsyncClient, seller: SellerAccount, url: str) -> dict[str, Any]:
    # The orders of these tests are test-mode orders: their events go to test mode's URL.
    response = await client.put("/v1/settings", json={"webhook_url": url}, headers=seller.test_headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def make_due(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Let the retry schedule's wait pass, without waiting."""
    async with sessionmaker() as session, session.begin():
        await session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


async def deliveries(
    client: httpx.AsyncClient, seller: SellerAccount, query: str = ""
) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhooks/deliveries?{query}", headers=seller.test_headers)
    assert response.status_code == 200, response.text
    return list(response.json()["deliveries"])


def verify_reference_recipe(secret: str, received: Any) -> None:
    """The reference's Python snippet, verbatim in spirit: HMAC-SHA256 of the raw body, hex."""
    expected = hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    assert received.headers["x-orderatlas-signature"] == f"sha256={expected}"


async def test_order_events_arrive_signed_both_ways(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create()
    settings = await point_at(client, seller, receiver.url)
    order_id = await place(client, seller, legacy_order())
    await worker.run()

    received = receiver.wait_for(3)
    events = [(r.json()["event"], r.json()["status"], r.json().get("previous_status")) for r in received]
    assert events == [
        ("order.created", "pending", None),
        ("order.status_changed", "processing", "pending"),
        ("order.status_changed", "confirmed", "processing"),
    ]
    verifier = Webhook(settings["standard_webhooks_secret"])
    for request in received:
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "OrderAtlas-Webhook/1.0"
        verify_reference_recipe(settings["webhook_secret"], request)
        assert verifier.verify(request.body, request.headers) == request.json()
        payload = request.json()
        assert payload["order_id"] == order_id
        assert payload["platform"] == "AmazonUS"
        assert payload["timestamp"].endswith("Z")
        assert None not in payload.values()
        assert "tracking_number" not in payload
    assert received[2].json()["platform_order_id"]
    assert len({r.headers["webhook-id"] for r in received}) == 3


async def test_a_tampered_body_fails_both_verifications(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create()
    settings = await point_at(client, seller, receiver.url)
    await place(client, seller, legacy_order())
    await worker.run()
    original = receiver.wait_for(1)[0]
    tampered = original.body.replace(b"pending", b"shipped")
    expected = hmac.new(settings["webhook_secret"].encode(), tampered, hashlib.sha256).hexdigest()
    assert original.headers["x-orderatlas-signature"] != f"sha256={expected}"
    with pytest.raises(Exception, match="[Ss]ignature"):
        Webhook(settings["standard_webhooks_secret"]).verify(tampered, original.headers)


async def test_a_failed_order_event_carries_the_failure(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)
    order_id = await place(client, seller, legacy_order(account_email="buyer+checkout_blocked@example.com"))
    await worker.run()
    failed = receiver.wait_for(3)[-1].json()
    detail = (await client.get(f"/v1/order/{order_id}", headers=seller.test_headers)).json()
    assert failed["status"] == "failed"
    assert failed["failure_reason_code"] == "CHECKOUT_BLOCKED"
    assert failed["failure_reason"] == detail["notes"][-1]
    assert failed["logged_in"] is True
    assert failed["asin"] == "B09V3KXJPB"
    assert failed["platform_order_id"] == ""
    created = receiver.requests[0].json()
    assert "failure_reason_code" not in created and "previous_status" not in created


async def test_order_url_beats_key_override_beats_account_url(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=20)
    with running_receiver() as account, running_receiver() as key, running_receiver() as order:
        await point_at(client, seller, account.url)
        keys = (await client.get("/v1/api-keys", headers=seller.test_headers)).json()["api_keys"]
        test_key = next(k for k in keys if k["mode"] == "test")
        patch = await client.patch(
            f"/v1/api-keys/{test_key['id']}", json={"webhook_url": key.url}, headers=seller.test_headers
        )
        assert patch.status_code == 200 and patch.json()["webhook_url"] == key.url

        await place(client, seller, legacy_order(webhook_url=order.url))
        await worker.run()
        assert (len(order.requests), len(key.requests), len(account.requests)) == (3, 0, 0)

        await place(client, seller, legacy_order())
        await worker.run()
        assert (len(order.requests), len(key.requests), len(account.requests)) == (3, 3, 0)

        cleared = await client.patch(
            f"/v1/api-keys/{test_key['id']}", json={"webhook_url": ""}, headers=seller.test_headers
        )
        assert cleared.json()["webhook_url"] == ""
        await place(client, seller, legacy_order())
        await worker.run()
        assert (len(order.requests), len(key.requests), len(account.requests)) == (3, 3, 3)


async def test_retries_until_the_receiver_recovers_with_the_same_webhook_id(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)
    receiver.status = 500
    order_id = await place(client, seller, legacy_order())
    await worker.run()
    first = await deliveries(client, seller, "event=order.created")
    assert first[0]["outcome"] == "pending"
    assert [a["response_status"] for a in first[0]["attempts"]] == [500]
    wait = _seconds_until(first[0]["next_attempt_at"])
    assert 3 <= wait <= 5  # the reference's first retry: 5 s

    await make_due(sessionmaker)
    await worker.run(with_cron=True)  # the sweep sends what is due
    second = (await deliveries(client, seller, "event=order.created"))[0]
    assert [a["response_status"] for a in second["attempts"]] == [500, 500]
    assert 8 <= _seconds_until(second["next_attempt_at"]) <= 10  # then 10 s

    receiver.status = 200
    await make_due(sessionmaker)
    await worker.run(with_cron=True)
    done = (await deliveries(client, seller, "event=order.created"))[0]
    assert done["outcome"] == "delivered"
    assert [a["number"] for a in done["attempts"]] == [1, 2, 3]
    assert [a["response_status"] for a in done["attempts"]] == [500, 500, 200]
    assert done["attempts"][-1]["response_body"] == "ok"
    created = [r for r in receiver.requests if r.json()["event"] == "order.created"]
    assert len(created) == 3
    assert len({r.headers["webhook-id"] for r in created}) == 1
    assert len({r.body for r in created}) == 1
    assert created[0].json()["order_id"] == order_id


def _seconds_until(iso: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(iso.replace("Z", "+00:00")) - utcnow()).total_seconds()


async def test_retry_after_is_honoured(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)
    receiver.status, receiver.reply_headers = 429, {"Retry-After": "120"}
    await place(client, seller, legacy_order())
    await worker.run()
    [created] = await deliveries(client, seller, "event=order.created")
    assert created["attempts"][0]["response_status"] == 429
    assert 115 <= _seconds_until(created["next_attempt_at"]) <= 120


async def test_delivery_fails_for_good_when_the_schedule_runs_out(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings.webhook_retry_schedule_s = [5]
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)
    receiver.status = 503
    await place(client, seller, legacy_order())
    await worker.run()
    await make_due(sessionmaker)
    await worker.run(with_cron=True)
    [created] = await deliveries(client, seller, "event=order.created")
    assert created["outcome"] == "failed"
    assert created["next_attempt_at"] == ""
    assert len(created["attempts"]) == 2
    assert len(await deliveries(client, seller, "outcome=failed")) == 3


async def test_a_rolled_back_change_sends_nothing(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)
    order_id = await place(client, seller, legacy_order())
    await worker.run()
    sent = len(receiver.wait_for(3))
    with pytest.raises(RuntimeError, match="abort"):
        async with unit_of_work(sessionmaker, redis) as session:
            order = await session.get(Order, uuid.UUID(order_id))
            assert order is not None
            order.status = "shipped"
            await emit_order_event(session, order, ORDER_STATUS_CHANGED, "confirmed")
            await session.flush()
            raise RuntimeError("abort")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookEvent)) == 3
    assert await redis.zcard("arq:queue") == 0
    await worker.run(with_cron=True)
    assert len(receiver.requests) == sent


async def test_redelivery_resends_with_the_same_webhook_id(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)
    await place(client, seller, legacy_order())
    await worker.run()
    [created] = await deliveries(client, seller, "event=order.created")
    assert created["outcome"] == "delivered"
    response = await client.post(
        f"/v1/webhooks/deliveries/{created['id']}/redeliver", headers=seller.test_headers
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "pending"
    await worker.run()
    again = (await deliveries(client, seller, "event=order.created"))[0]
    assert again["outcome"] == "delivered"
    assert [a["number"] for a in again["attempts"]] == [1, 2]
    copies = [r for r in receiver.requests if r.json()["event"] == "order.created"]
    assert len(copies) == 2
    assert copies[0].headers["webhook-id"] == copies[1].headers["webhook-id"] == created["event_id"]


async def test_redelivering_someone_elses_delivery_is_404(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    owner, stranger = await accounts.create(), await accounts.create()
    await point_at(client, owner, receiver.url)
    await place(client, owner, legacy_order())
    await worker.run()
    delivery_id = (await deliveries(client, owner))[0]["id"]
    response = await client.post(
        f"/v1/webhooks/deliveries/{delivery_id}/redeliver", headers=stranger.test_headers
    )
    assert response.status_code == 404
    assert await deliveries(client, stranger) == []


async def test_delivery_log_filters_and_bounds(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create(test_credits=20)
    await point_at(client, seller, receiver.url)
    first = await place(client, seller, legacy_order())
    await place(client, seller, legacy_order())
    await worker.run()
    assert len(await deliveries(client, seller)) == 6
    assert {d["order_id"] for d in await deliveries(client, seller, f"order_id={first}")} == {first}
    assert len(await deliveries(client, seller, "event=order.status_changed")) == 4
    assert len(await deliveries(client, seller, "outcome=delivered&limit=2")) == 2
    assert await deliveries(client, seller, "outcome=pending") == []
    for bad in ("limit=500", "event=order.exploded", "outcome=lost", "order_id=nope"):
        response = await client.get(f"/v1/webhooks/deliveries?{bad}", headers=seller.test_headers)
        assert response.status_code == 400, bad


async def test_rotation_switches_the_signing_secret_at_once(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create()
    old = (await point_at(client, seller, receiver.url))["webhook_secret"]
    rotated = await client.post("/v1/settings/rotate-webhook-secret", headers=seller.test_headers)
    assert rotated.status_code == 200
    new = rotated.json()["webhook_secret"]
    assert new != old and len(new) == 64 and int(new, 16) >= 0
    assert (await settings_of(client, seller))["webhook_secret"] == new
    await place(client, seller, legacy_order())
    await worker.run()
    request = receiver.wait_for(1)[0]
    verify_reference_recipe(new, request)
    with pytest.raises(AssertionError):
        verify_reference_recipe(old, request)


async def test_a_custom_secret_must_be_32_characters(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    custom = "my-custom-32-char-or-longer-secret"
    response = await client.post(
        "/v1/settings/rotate-webhook-secret", json={"webhook_secret": custom}, headers=seller.test_headers
    )
    assert response.json() == {"webhook_secret": custom}
    short = await client.post(
        "/v1/settings/rotate-webhook-secret",
        json={"webhook_secret": "too-short"},
        headers=seller.live_headers,
    )
    assert short.status_code == 400
    assert (await settings_of(client, seller))["webhook_secret"] == custom


async def emit_status(
    sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis, order_id: str, status: str
) -> None:
    """A status change as later features (tracking) will make it: through the real outbox."""
    async with unit_of_work(sessionmaker, redis) as session:
        order = await session.get(Order, uuid.UUID(order_id))
        assert order is not None
        previous, order.status = order.status, status
        await emit_order_event(session, order, ORDER_STATUS_CHANGED, previous)
