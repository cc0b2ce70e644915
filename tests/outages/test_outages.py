"""Outages in process: PostgreSQL backends killed and Redis cut during a load of orders.

Requests in flight fail cleanly (JSON 503, never a 500 or a hang), the pools recover by
themselves, and every ledger still equals its balance. bench/outage.py runs the same against
real `orderatlas serve` processes and prints timings."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderatlas.config import Settings
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order
from tests.health.test_readyz import app_behind
from tests.outage_proxy import OutageProxy, outage_proxy

pytestmark = pytest.mark.asyncio

LEDGER_MISMATCHES = """
SELECT count(*) FROM accounts a
WHERE a.credit_balance <> (SELECT coalesce(sum(amount), 0) FROM credit_transactions c
                           WHERE c.account_id = a.id AND NOT c.test_mode)
   OR a.test_credit_balance <> (SELECT coalesce(sum(amount), 0) FROM credit_transactions c
                                WHERE c.account_id = a.id AND c.test_mode)
"""


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[tuple[OutageProxy, OutageProxy]]:
    async with (
        outage_proxy(settings.database_url or "") as database,
        outage_proxy(settings.redis_url or "") as redis,
    ):
        yield database, redis


def terminate_other_backends(settings: Settings) -> int:
    """pg_terminate_backend on every connection to the service's database but this one."""
    url = make_url(settings.database_url or "").set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(killed[0]) if killed else 0


def clean_outcome(answer: httpx.Response) -> None:
    assert answer.status_code in (200, 503), answer.text
    if answer.status_code == 503:
        assert answer.json()["code"] in ("database_unavailable", "redis_unavailable"), answer.text


async def orders(http: httpx.AsyncClient, seller: SellerAccount, count: int) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(http.post("/v1/order", json=legacy_order(), headers=seller.test_headers) for _ in range(count))
        )
    )


async def until_ok(call: Any, timeout_s: float) -> httpx.Response:
    async with asyncio.timeout(timeout_s):
        while True:
            answer: httpx.Response = await call()
            clean_outcome(answer)
            if answer.status_code == 200:
                return answer
            await asyncio.sleep(0.1)


async def test_killed_backends_fail_requests_cleanly_and_the_pool_recovers(
    settings: Settings,
    engine: AsyncEngine,
    accounts: AccountFactory,
    worker: WorkerRunner,
    proxied: tuple[OutageProxy, OutageProxy],
) -> None:
    seller = await accounts.create(test_credits=200)
    async with app_behind(settings, *proxied) as http:
        load = asyncio.create_task(orders(http, seller, 20))
        killed = 0
        while not load.done() and killed < 3:  # kill again and again while the load is in flight
            await asyncio.sleep(0.05)
            killed += terminate_other_backends(settings) > 0
        for answer in await load:
            clean_outcome(answer)
        terminate_other_backends(settings)  # every pooled connection is dead now
        await until_ok(lambda: http.get("/v1/settings", headers=seller.test_headers), timeout_s=15)
        assert (await http.get("/readyz")).status_code == 200
    # The suite's own pool lost its connections too, and is not pinged before use either.
    await engine.dispose()
    await worker.run(with_cron=True)
    async with engine.connect() as conn:
        assert (await conn.execute(text(LEDGER_MISMATCHES))).scalar() == 0
        stuck = await conn.scalar(
            text("SELECT count(*) FROM orders WHERE status IN ('pending', 'processing')")
        )
    assert stuck == 0


async def test_orders_taken_while_redis_is_down_are_answered_and_finished_by_the_sweep(
    settings: Settings,
    engine: AsyncEngine,
    accounts: AccountFactory,
    worker: WorkerRunner,
    proxied: tuple[OutageProxy, OutageProxy],
) -> None:
    seller = await accounts.create(test_credits=20)
    database, redis = proxied
    async with app_behind(settings, database, redis) as http:
        await redis.down()
        async with asyncio.timeout(15):  # committed and answered, though its job could not be queued
            placed = await http.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
        assert placed.status_code == 200, placed.text
        assert (await http.get("/readyz")).status_code == 503
        await redis.up()
        await until_ok(lambda: http.get("/readyz"), timeout_s=15)
        order_id = placed.json()["order_id"]
        detail = await http.get(f"/v1/order/{order_id}", headers=seller.test_headers)
        assert detail.json()["status"] == "pending"
    async with engine.begin() as conn:  # the sweep's wait for a job that never came, passed
        await conn.execute(text("UPDATE orders SET created_at = now() - interval '1 hour'"))
    await worker.run(with_cron=True)
    async with engine.connect() as conn:
        status = await conn.scalar(text("SELECT status FROM orders WHERE id = :id"), {"id": order_id})
        assert (await conn.execute(text(LEDGER_MISMATCHES))).scalar() == 0
        charged = await conn.scalar(
            text("SELECT coalesce(sum(amount), 0) FROM credit_transactions WHERE order_id = :id"),
            {"id": order_id},
        )
    assert status == "failed" and charged == 0  # never bought, so debited once and refunded once
