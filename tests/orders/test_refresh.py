"""The automatic status refresh, run by the real worker with the clock moved instead of slept through."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.db import unit_of_work
from orderatlas.kit.crypto import unseal
from orderatlas.models import Order
from orderatlas.models.base import utcnow
from orderatlas.orders import refresh
from orderatlas.orders import repository as orders
from tests.conftest import Clock, WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order, order_in
from tests.orders.test_checkout import order, place
from tests.receiver import Receiver, running_receiver

STEP = 60.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(autouse=True)
def _sandbox_steps(settings: Settings) -> None:
    settings.sandbox_ship_after_s = STEP


async def row(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> Order:
    async with sessionmaker() as session:
        found = await session.get(Order, uuid.UUID(order_id))
        assert found is not None
        return found


async def placed(
    client: httpx.AsyncClient, worker: WorkerRunner, seller: SellerAccount, clock: Clock, **body: Any
) -> str:
    order_id = await place(client, seller, legacy_order(**body))
    await worker.run(clock=clock)
    return order_id


async def later(worker: WorkerRunner, clock: Clock, seconds: float) -> None:
    """Let `seconds` pass for the worker and the sandbox, then let the refresh sweep run once."""
    clock.advance(seconds)
    await worker.run(with_cron=True, clock=clock)


def status_changes(receiver: Receiver) -> list[tuple[str, str]]:
    return [
        (r.json()["previous_status"], r.json()["status"])
        for r in receiver.requests
        if r.json()["event"] == "order.status_changed"
    ]


async def test_a_sandbox_order_is_delivered_with_no_client_call_one_webhook_per_step(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller, clock = await accounts.create(), Clock()
    order_id = await placed(client, worker, seller, clock, webhook_url=receiver.url)
    await later(worker, clock, 0)  # the first refresh comes at once: copies, still confirmed
    for _ in range(3):
        await later(worker, clock, STEP + 1)
    for _ in range(2):  # and nothing after delivery, however long
        await later(worker, clock, 10 * 3600)

    assert receiver.status_chain() == [
        "pending",
        "processing",
        "confirmed",
        "shipped",
        "out_for_delivery",
        "delivered",
    ]
    assert status_changes(receiver)[2:] == [  # each refresh's step arrives before the next is seen
        ("confirmed", "shipped"),
        ("shipped", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    assert sorted(r.json()["event"] for r in receiver.requests) == ["order.created"] + 5 * [
        "order.status_changed"
    ]
    detail = await order(client, seller, order_id)
    shipped = next(r.json() for r in receiver.requests if r.json()["status"] == "shipped")
    assert shipped["tracking_number"] == detail["tracking_number"] != ""
    assert shipped["carrier"] == detail["carrier"] in ("AMZL", "UPS", "USPS")
    confirmed = next(r.json() for r in receiver.requests if r.json()["status"] == "confirmed")
    assert "tracking_number" not in confirmed  # not known yet
    assert detail["status"] == "delivered"
    assert detail["invoice_link"] and detail["order_html_url"]
    stored = await row(sessionmaker, order_id)
    assert stored.next_refresh_at is None and stored.retailer_session is None


async def test_the_kept_session_is_sealed_and_dropped_when_the_order_is_final(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    seller, clock = await accounts.create(), Clock()
    order_id = await placed(client, worker, seller, clock, account_email="buyer+cancelled@example.com")
    kept = (await row(sessionmaker, order_id)).retailer_session
    assert kept is not None
    assert settings.secret_key is not None
    opened = unseal(kept, settings.secret_key, context=f"retailer-session:{order_id}")
    assert opened["email"] == "buyer+cancelled@example.com"
    assert opened["token"] not in kept  # sealed, not merely encoded
    with pytest.raises(Exception):  # noqa: B017 - bound to its order: no other context opens it
        unseal(kept, settings.secret_key, context=order_id)

    await later(worker, clock, STEP + 1)
    cancelled = await row(sessionmaker, order_id)
    assert cancelled.status == "cancelled"
    assert cancelled.retailer_session is None and cancelled.next_refresh_at is None


@pytest.mark.parametrize(
    ("tag", "steps"),
    [
        ("lost", ["shipped", "lost"]),
        ("refunded", ["shipped", "refunded"]),
        ("cancelled", ["cancelled"]),
        ("no_tracking", []),
    ],
)
async def test_plus_tags_pick_the_other_endings(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
    tag: str,
    steps: list[str],
) -> None:
    seller, clock = await accounts.create(), Clock()
    order_id = await placed(
        client, worker, seller, clock, account_email=f"buyer+{tag}@example.com", webhook_url=receiver.url
    )
    for _ in range(5):
        await later(worker, clock, STEP + 1)
    assert receiver.status_chain() == ["pending", "processing", "confirmed", *steps]
    assert len(status_changes(receiver)) == 2 + len(steps)
    detail = await order(client, seller, order_id)
    assert detail["status"] == (steps[-1] if steps else "confirmed")
    assert bool(detail["tracking_number"]) == ("shipped" in steps)


async def test_a_failing_refresh_changes_nothing_backs_off_and_adds_one_note(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller, clock = await accounts.create(), Clock()
    order_id = await placed(
        client,
        worker,
        seller,
        clock,
        account_email="buyer+refresh_fails@example.com",
        webhook_url=receiver.url,
    )
    sent = len(receiver.requests)
    waits, updated = [], [(await row(sessionmaker, order_id)).updated_at]
    for failures in range(1, 6):
        before = clock()
        await later(worker, clock, 11 * 3600)  # past any backoff: each run is one more failed lookup
        stored = await row(sessionmaker, order_id)
        updated.append(stored.updated_at)
        assert stored.refresh_failures == failures
        assert stored.status == "confirmed" and stored.tracking_number is None
        assert stored.next_refresh_at is not None
        waits.append(stored.next_refresh_at - before - timedelta(hours=11))
    # 5 min, 30 min, 2 h, then the regular 8 h: each +-25%.
    expected = [300, 1800, 7200, 28800, 28800]
    for wait, seconds in zip(waits, expected, strict=True):
        assert 0.75 * seconds <= wait.total_seconds() <= 1.25 * seconds, (waits, expected)
    # Only the note is a change a client sees (GET /v1/orders?updated_after=): nothing else moved updated_at.
    assert updated[0] == updated[1] == updated[2] != updated[3] == updated[4] == updated[5]
    notes = (await order(client, seller, order_id))["notes"]
    assert len([n for n in notes if "POST /v1/order/" in n]) == 1
    assert f"/v1/order/{order_id}/status" in notes[-1]
    assert len(receiver.requests) == sent  # a failed lookup is not an event


async def test_an_order_with_no_kept_session_is_a_failed_refresh_not_an_error(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller, clock = await accounts.create(), Clock()
    order_id = await order_in(sessionmaker, seller, "confirmed", next_refresh_at=clock())
    await later(worker, clock, 0)
    stored = await row(sessionmaker, order_id)
    assert stored.refresh_failures == 1 and stored.status == "confirmed"


async def test_the_client_s_tracking_is_kept_and_the_refresh_carries_on_from_it(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
) -> None:
    seller, clock = await accounts.create(), Clock()
    order_id = await placed(client, worker, seller, clock, webhook_url=receiver.url)
    pushed = await client.put(
        f"/v1/order/{order_id}/tracking",
        json={"tracking_number": "1ZCLIENT0000000001", "carrier": "UPS"},
        headers=seller.test_headers,
    )
    assert pushed.status_code == 200, pushed.text
    for _ in range(3):
        await later(worker, clock, STEP + 1)
    assert status_changes(receiver)[2:] == [
        ("confirmed", "shipped"),
        ("shipped", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    after_push = [
        r.json()
        for r in receiver.requests
        if r.json()["status"] not in ("pending", "processing", "confirmed")
    ]
    assert {event.get("tracking_number") for event in after_push} == {"1ZCLIENT0000000001"}
    assert (await order(client, seller, order_id))["carrier"] == "UPS"


async def test_the_sweep_takes_due_orders_in_bounded_batches_and_leases_them(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller, now = await accounts.create(), utcnow()
    due = [
        await order_in(sessionmaker, seller, "shipped", next_refresh_at=now - timedelta(minutes=m))
        for m in (3, 2, 1)
    ]
    await order_in(sessionmaker, seller, "shipped", next_refresh_at=now + timedelta(hours=1))
    await order_in(sessionmaker, seller, "delivered")  # never refreshed: not in the index at all
    written = (await row(sessionmaker, due[0])).updated_at
    async with sessionmaker() as session, session.begin():
        first = await orders.claim_due_for_refresh(session, now, now + refresh.CLAIM_LEASE, 2)
        second = await orders.claim_due_for_refresh(session, now, now + refresh.CLAIM_LEASE, 2)
        third = await orders.claim_due_for_refresh(session, now, now + refresh.CLAIM_LEASE, 2)
    # The longest overdue are taken first; RETURNING gives no order within a batch.
    assert {str(i) for i in first} == set(due[:2])
    assert [str(i) for i in second] == due[2:]
    assert third == []
    leased = await row(sessionmaker, due[0])
    assert leased.next_refresh_at == now + refresh.CLAIM_LEASE
    assert leased.updated_at == written  # a claim changes nothing a client sees


async def test_a_lost_refresh_job_is_picked_up_again_after_its_lease(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    seller, clock = await accounts.create(), Clock()
    order_id = await placed(client, worker, seller, clock)
    async with sessionmaker() as session, session.begin():
        assert await refresh.queue_due(session, clock()) == 1  # claimed ...
    await redis.flushdb()  # ... and its job lost
    await later(worker, clock, 60)
    assert (await row(sessionmaker, order_id)).order_html_updated_at is None  # still leased
    await later(worker, clock, refresh.CLAIM_LEASE.total_seconds())
    assert (await row(sessionmaker, order_id)).order_html_updated_at is not None


async def test_a_refresh_job_run_again_records_its_lookup_once(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    """arq runs a job again when its worker dies after the commit: the claim it was queued for is
    then spent, and the re-run neither looks the order up again nor counts a second failure."""
    seller, clock = await accounts.create(), Clock()
    order_id = await placed(client, worker, seller, clock, account_email="buyer+refresh_fails@example.com")
    async with unit_of_work(sessionmaker, redis) as session:
        assert await refresh.queue_due(session, clock()) == 1
    [queued] = await redis.queued_jobs()
    await worker.run(clock=clock)
    assert (await row(sessionmaker, order_id)).refresh_failures == 1
    await redis.enqueue_job(queued.function, *queued.args)  # the same job, run again
    assert await worker.run(clock=clock) == 1
    assert (await row(sessionmaker, order_id)).refresh_failures == 1


def test_refreshes_spread_over_half_the_interval_and_a_retailer_hint_comes_first() -> None:
    now, interval = utcnow(), 8 * 3600
    due = [refresh.next_refresh(now, interval) - now for _ in range(2000)]
    assert min(due) >= timedelta(hours=6) and max(due) <= timedelta(hours=10)
    assert max(due) - min(due) > timedelta(hours=3)  # a million orders placed together drift apart
    soon = now + timedelta(minutes=1)
    assert refresh.next_refresh(now, interval, soon) == soon
    assert refresh.next_refresh(now, interval, now - timedelta(minutes=1)) == now + refresh.MIN_GAP
    assert refresh.next_refresh(now, interval, now + timedelta(days=2)) - now <= timedelta(hours=10)


async def test_an_order_leaving_the_followed_statuses_is_not_refreshed(
    accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    order_id = await order_in(sessionmaker, seller, "confirmed", next_refresh_at=utcnow())
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Order).where(Order.id == uuid.UUID(order_id)).values(status="cancelled"))
    async with sessionmaker() as session, session.begin():
        assert await refresh.start(session, uuid.UUID(order_id), "unused") is None
