"""A worker that dies mid-checkout leaves its order in processing; the re-run job must not buy blindly.

The state a crash leaves behind is produced with the real service and adapter: the order is claimed
(and, in one case, really bought from the sandbox), then the process "dies" before recording.
"""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.db import unit_of_work
from orderatlas.models import Order
from orderatlas.models.base import utcnow
from orderatlas.orders import service
from orderatlas.orders.checkout import Secrets, run_checkout
from orderatlas.retailers.base import Credentials
from orderatlas.retailers.registry import Retailers
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order
from tests.orders.test_checkout import ledger, order, place, purchases, statuses

pytestmark = pytest.mark.asyncio


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> service.Claim:
    async with unit_of_work(sessionmaker, None) as session:
        claim = await service.claim_checkout(session, uuid.UUID(order_id))
    assert claim is not None and not claim.resumed
    return claim


async def test_rerun_after_a_crash_before_purchase_fails_interrupted_and_refunds(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order())
    await _claim(sessionmaker, order_id)  # the worker died right after this commit

    assert await worker.run() == 1  # arq hands the job to the next worker
    detail = await order(client, seller, order_id)
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == "GATEWAY_RESTART_INTERRUPTED"
    assert detail["credits_remaining"] == 10
    assert await ledger(sessionmaker, order_id) == [("order_debit", -2), ("order_refund", 2)]
    assert await purchases(sessionmaker, order_id) == 0


async def test_rerun_after_a_crash_after_purchase_records_it_without_buying_again(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order(product_id="B0TEST1485"))
    claim = await _claim(sessionmaker, order_id)
    adapter = Retailers(sessionmaker, settings).get(claim.retailer)
    bought = await run_checkout(adapter, claim.plan, Secrets(Credentials("buyer@example.com", "hunter2")))
    assert bought.status == "confirmed"  # the retailer placed it; the worker died before recording

    assert await worker.run() == 1
    detail = await order(client, seller, order_id)
    assert detail["status"] == "confirmed"
    assert detail["platform_order_id"] == bought.platform_order_id
    assert detail["price_amount"] == 14.85
    assert detail["credits_remaining"] == 8
    assert "order history" in detail["notes"][-1]
    assert await purchases(sessionmaker, order_id) == 1
    assert await ledger(sessionmaker, order_id) == [("order_debit", -2)]
    assert await statuses(sessionmaker, order_id) == [
        (None, "pending"),
        ("pending", "processing"),
        ("processing", "confirmed"),
    ]


async def test_a_late_outcome_for_a_finished_order_is_ignored(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order(account_email="buyer+checkout_blocked@example.com"))
    await worker.run()
    before: dict[str, Any] = await order(client, seller, order_id)
    from orderatlas.orders.checkout import CheckoutOutcome

    async with unit_of_work(sessionmaker, None) as session:
        recorded = await service.record_outcome(
            session, uuid.UUID(order_id), CheckoutOutcome("confirmed", logged_in=True, lines=[])
        )
    assert recorded is None
    assert await order(client, seller, order_id) == before


async def _age_in_flight_orders(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    settings.checkout_stuck_after_s = 60
    past = utcnow() - timedelta(minutes=5)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Order).values(created_at=past, processing_started_at=past))


async def test_sweep_fails_and_refunds_a_pending_order_whose_job_was_lost(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    redis: ArqRedis,
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order())
    await redis.flushdb()  # the API process died between its commit and the enqueue
    await _age_in_flight_orders(sessionmaker, settings)

    await worker.run(with_cron=True)  # a worker starting up sweeps
    detail = await order(client, seller, order_id)
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == "GATEWAY_RESTART_INTERRUPTED"
    assert detail["credits_remaining"] == 10
    assert await ledger(sessionmaker, order_id) == [("order_debit", -2), ("order_refund", 2)]
    assert await statuses(sessionmaker, order_id) == [(None, "pending"), ("pending", "failed")]


async def test_sweep_records_a_purchase_whose_job_was_lost_without_buying_again(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    redis: ArqRedis,
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order())
    claim = await _claim(sessionmaker, order_id)
    adapter = Retailers(sessionmaker, settings).get(claim.retailer)
    await run_checkout(adapter, claim.plan, Secrets(Credentials("buyer@example.com", "hunter2")))
    await redis.flushdb()  # the job ran out of tries, or Redis lost it
    await _age_in_flight_orders(sessionmaker, settings)

    await worker.run(with_cron=True)
    detail = await order(client, seller, order_id)
    assert detail["status"] == "confirmed"
    assert detail["credits_remaining"] == 8
    assert await purchases(sessionmaker, order_id) == 1


async def test_sweep_fails_a_processing_order_the_retailer_never_placed(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    redis: ArqRedis,
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order())
    await _claim(sessionmaker, order_id)
    await redis.flushdb()
    await _age_in_flight_orders(sessionmaker, settings)

    await worker.run(with_cron=True)
    detail = await order(client, seller, order_id)
    assert detail["failure_reason_code"] == "GATEWAY_RESTART_INTERRUPTED"
    assert await ledger(sessionmaker, order_id) == [("order_debit", -2), ("order_refund", 2)]


async def test_sweep_leaves_an_order_whose_job_is_still_queued(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    from orderatlas.orders.tasks import sweep_stuck_orders
    from orderatlas.worker import _startup

    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order())
    await _age_in_flight_orders(sessionmaker, settings)
    ctx: dict[str, Any] = {"settings": settings}
    await _startup(ctx)
    ctx["redis"] = client._transport.app.state.redis  # type: ignore[attr-defined]
    try:
        assert await sweep_stuck_orders(ctx) == 0
    finally:
        await ctx["engine"].dispose()
    assert (await order(client, seller, order_id))["status"] == "pending"
    assert await worker.run() == 1
    assert (await order(client, seller, order_id))["status"] == "confirmed"


async def test_an_adapter_error_after_placing_is_reconciled_not_bought_again(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    settings.checkout_retry_delay_s = 0
    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order(account_email="buyer+lost_response@example.com"))
    await worker.run()  # the checkout raises, arq retries the job, the retry reconciles
    detail = await order(client, seller, order_id)
    assert detail["status"] == "confirmed"
    assert detail["platform_order_id"]
    assert "order history" in detail["notes"][-1]
    assert detail["credits_remaining"] == 8
    assert await purchases(sessionmaker, order_id) == 1


async def test_an_order_whose_job_could_not_be_queued_is_still_accepted_and_later_refunded(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    from arq.connections import ArqRedis

    from tests.retailers.test_sandbox import closed_port

    seller = await accounts.create(test_credits=10)
    app = client._transport.app  # type: ignore[attr-defined]
    healthy, app.state.redis = app.state.redis, ArqRedis(host="127.0.0.1", port=closed_port())
    try:
        response = await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    finally:
        await app.state.redis.aclose()
        app.state.redis = healthy
    assert response.status_code == 200  # committed: a 500 here would invite a second order
    order_id = response.json()["order_id"]
    assert (await order(client, seller, order_id))["status"] == "pending"

    settings.checkout_lost_after_s = 60
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Order).values(created_at=utcnow() - timedelta(minutes=2)))
    await worker.run(with_cron=True)
    detail = await order(client, seller, order_id)
    assert detail["status"] == "failed"
    assert detail["credits_remaining"] == 10
