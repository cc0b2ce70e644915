"""The poller in the real worker: automatic conversion, aqualine.skipped once per reason, top-ups,
convert_tracking and ship-from precedence, bounded batches, and the poller racing a manual convert."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.billing import service as billing
from orderatlas.config import Settings
from orderatlas.conversion import poller
from orderatlas.conversion.ship_from import PLATFORM_DEFAULTS
from orderatlas.db import unit_of_work
from tests.conftest import Clock, WorkerRunner
from tests.conversion.helpers import balance, debits, events, labels, order_row, placed, poll
from tests.factories import SHIPPING_ADDRESS, AccountFactory, SellerAccount

Maker = async_sessionmaker[AsyncSession]
STORE = {"ship_from_name": "My Store", "ship_from_line1": "1 Dock Rd", "ship_from_city": "Austin"} | {
    "ship_from_state": "TX",
    "ship_from_zip": "78701",
}


@pytest.fixture(autouse=True)
def _short_interval(settings: Settings) -> None:
    settings.conversion_poll_s = 100
    settings.sandbox_conversion_slow_s = 0.5


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def set_account(client: httpx.AsyncClient, seller: SellerAccount, **changes: object) -> None:
    response = await client.put("/v1/settings", json=changes, headers=seller.live_headers)
    assert response.status_code == 200, response.text


class Polls:
    def __init__(
        self, sessionmaker: Maker, redis: ArqRedis, worker: WorkerRunner, settings: Settings, clock: Clock
    ):
        self.args = (sessionmaker, redis, worker, settings, clock)

    async def __call__(self, times: int = 1) -> None:
        for _ in range(times):
            await poll(*self.args)


@pytest.fixture
def polls(
    sessionmaker: Maker, redis: ArqRedis, worker: WorkerRunner, settings: Settings, clock: Clock
) -> Polls:
    return Polls(sessionmaker, redis, worker, settings, clock)


async def test_an_order_is_first_tried_within_one_interval_then_converted_by_the_worker(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: Maker,
    redis: ArqRedis,
    settings: Settings,
    clock: Clock,
    polls: Polls,
) -> None:
    seller = await accounts.create(test_credits=5)
    await set_account(client, seller, convert_tracking=True, **STORE)
    order_id = await placed(sessionmaker, seller, "shipped")
    async with unit_of_work(sessionmaker, redis) as session:
        assert await poller.queue_due(session, clock(), settings) == 0  # first sight: only scheduled
    due = (await order_row(sessionmaker, order_id)).conversion_due_at
    assert due is not None and clock() <= due <= clock() + timedelta(seconds=100)

    await polls()

    order = await order_row(sessionmaker, order_id)
    assert order.aqualine_tracking and order.aqualine_skip_reason is None
    [label] = await labels(sessionmaker, order_id)
    assert label.ship_from["name"] == "My Store" and label.number == order.aqualine_tracking
    [event] = await events(sessionmaker, order_id, "tracking.converted")
    assert event["aqualine_tracking"] == order.aqualine_tracking
    assert await balance(sessionmaker, seller) == 4
    await polls(2)  # converted orders are left alone
    assert len(await debits(sessionmaker, order_id)) == 1


async def test_skips_fire_once_per_reason_a_change_or_a_regression_fires_again_and_a_top_up_unblocks(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker, polls: Polls
) -> None:
    seller = await accounts.create(test_credits=0)
    await set_account(client, seller, convert_tracking=True, **STORE)
    order_id = await placed(sessionmaker, seller, shipping_address={**SHIPPING_ADDRESS, "zip": "00002"})
    await polls(4)  # first sight, then three polls short of credits
    [skip] = await events(sessionmaker, order_id, "aqualine.skipped")
    assert skip["skip_reason"] == "insufficient_credits" and skip["retry_eligible"] is True
    assert (skip["credits_have"], skip["credits_need"]) == (0, 1)
    assert (await order_row(sessionmaker, order_id)).notes == [skip["skip_message"]]

    async with unit_of_work(sessionmaker, None) as session:
        await billing.grant(session, uuid.UUID(seller.account_id), 5, "top-up", test_mode=True)
    await polls(3)  # paid for now, but the provider is down: a new reason, once
    reasons = [e["skip_reason"] for e in await events(sessionmaker, order_id, "aqualine.skipped")]
    assert reasons == ["insufficient_credits", "provider_unavailable"]
    unavailable = (await events(sessionmaker, order_id, "aqualine.skipped"))[-1]
    assert "credits_have" not in unavailable and "credits_need" not in unavailable
    assert await balance(sessionmaker, seller) == 5  # the failures debited nothing

    async with unit_of_work(sessionmaker, None) as session:
        await session.execute(
            text(
                'UPDATE orders SET shipping_address = shipping_address || \'{"zip": "78701"}\' WHERE id = :id'
            ),
            {"id": uuid.UUID(order_id)},
        )
    await polls()
    first = await order_row(sessionmaker, order_id)
    assert first.aqualine_tracking and first.aqualine_skip_reason is None
    assert await balance(sessionmaker, seller) == 4


async def test_a_success_forgets_the_reason_so_the_same_failure_after_a_drop_notifies_again(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker, polls: Polls, clock: Clock
) -> None:
    seller = await accounts.create(test_credits=0)
    await set_account(client, seller, convert_tracking=True, **STORE)
    order_id = await placed(sessionmaker, seller)
    await polls(2)  # first sight; short of credits
    async with unit_of_work(sessionmaker, None) as session:
        await billing.grant(session, uuid.UUID(seller.account_id), 1, "top-up", test_mode=True)
    await polls()  # the top-up is enough: converted on the next poll
    assert (await order_row(sessionmaker, order_id)).aqualine_tracking
    dropped = await client.post(f"/v1/order/{order_id}/drop-conversion", headers=seller.test_headers)
    assert dropped.status_code == 200
    clock.advance(-1)  # the drop put the next automatic try one interval from the real now
    await polls(2)  # the re-conversion is short of credits again: the same reason notifies again
    reasons = [e["skip_reason"] for e in await events(sessionmaker, order_id, "aqualine.skipped")]
    assert reasons == ["insufficient_credits", "insufficient_credits"]
    order = await order_row(sessionmaker, order_id)
    assert order.aqualine_tracking is None and len(order.dropped_aqualine_tracking) == 1


async def test_a_rejected_label_is_not_retried_by_the_poller(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker, polls: Polls
) -> None:
    seller = await accounts.create(test_credits=5)
    await set_account(client, seller, convert_tracking=True, **STORE)
    order_id = await placed(sessionmaker, seller, shipping_address={**SHIPPING_ADDRESS, "zip": "00000"})
    await polls(4)
    [skip] = await events(sessionmaker, order_id, "aqualine.skipped")
    assert (skip["skip_reason"], skip["retry_eligible"]) == ("label_rejected", False)
    assert (await order_row(sessionmaker, order_id)).conversion_attempts == 1


async def test_convert_tracking_resolves_order_then_key_then_account(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker, polls: Polls
) -> None:
    seller = await accounts.create(test_credits=10)
    await set_account(client, seller, convert_tracking=False)
    keys = (await client.get("/v1/api-keys", headers=seller.test_headers)).json()["api_keys"]
    key_on = next(k for k in keys if k["mode"] == "test")["id"]
    created = await client.post("/v1/api-keys", json={"mode": "test"}, headers=seller.test_headers)
    key_unset = created.json()["id"]
    patched = await client.patch(
        f"/v1/api-keys/{key_on}", json={"convert_tracking": True}, headers=seller.test_headers
    )
    assert patched.json()["convert_tracking"] is True
    cases = {  # (key, order's own value): converted?
        (key_on, None): True,
        (key_unset, None): False,
        (key_on, False): False,
        (key_unset, True): True,
    }
    orders = {
        case: await placed(sessionmaker, seller, api_key_id=uuid.UUID(case[0]), convert_tracking=case[1])
        for case in cases
    }
    await polls(2)
    assert {
        case: bool((await order_row(sessionmaker, o)).aqualine_tracking) for case, o in orders.items()
    } == cases

    cleared = await client.patch(
        f"/v1/api-keys/{key_on}", json={"convert_tracking": ""}, headers=seller.test_headers
    )
    assert cleared.json()["convert_tracking"] is None  # "" clears the override: the account's applies
    follows_account = await placed(sessionmaker, seller, api_key_id=uuid.UUID(key_on))
    await set_account(client, seller, convert_tracking=True)
    await polls(2)
    assert (await order_row(sessionmaker, follows_account)).aqualine_tracking
    assert not (await order_row(sessionmaker, orders[(key_on, False)])).aqualine_tracking


async def test_ship_from_is_the_order_s_then_the_account_s_then_the_platform_s(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker, polls: Polls
) -> None:
    seller = await accounts.create(test_credits=5)
    settings_body = (await client.get("/v1/settings", headers=seller.test_headers)).json()
    assert settings_body["ship_from_required"] is False
    await set_account(client, seller, convert_tracking=True)
    assert (await client.get("/v1/settings", headers=seller.test_headers)).json()[
        "ship_from_required"
    ] is True
    platform = await placed(sessionmaker, seller)
    await polls(2)
    await set_account(client, seller, **STORE)
    assert (await client.get("/v1/settings", headers=seller.test_headers)).json()[
        "ship_from_required"
    ] is False
    own = {"name": "Other Store", "line1": "9 Pier", "city": "Dallas", "zip": "75201"}
    per_order = await placed(sessionmaker, seller, ship_from=own)
    account_wide = await placed(sessionmaker, seller)
    incomplete = await placed(sessionmaker, seller, ship_from={"name": "No Street"})
    await polls(2)
    assert (await labels(sessionmaker, platform))[0].ship_from["line1"] == PLATFORM_DEFAULTS["AmazonUS"][
        "line1"
    ]
    assert (await labels(sessionmaker, per_order))[0].ship_from["name"] == "Other Store"
    assert (await labels(sessionmaker, account_wide))[0].ship_from["name"] == "My Store"
    assert await labels(sessionmaker, incomplete) == []
    [skip] = await events(sessionmaker, incomplete, "aqualine.skipped")
    assert skip["skip_reason"] == "missing_ship_from" and "line1, city, zip" in skip["skip_message"]
    manual = await client.post(f"/v1/order/{incomplete}/convert", headers=seller.test_headers)
    assert (manual.status_code, manual.json()["code"]) == (422, "missing_ship_from")


async def test_polls_take_bounded_batches_and_concurrent_pollers_split_the_work(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: Maker,
    redis: ArqRedis,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(poller, "POLL_BATCH", 3)
    seller = await accounts.create(test_credits=10)
    await set_account(client, seller, convert_tracking=True, **STORE)
    orders = [await placed(sessionmaker, seller, conversion_due_at=clock()) for _ in range(5)]

    async def one_poll() -> int:
        async with unit_of_work(sessionmaker, redis) as session:
            return await poller.queue_due(session, clock(), settings)

    # Two pollers at once split the due orders (SKIP LOCKED); a third finds none left.
    assert sorted(await asyncio.gather(one_poll(), one_poll())) == [2, 3]
    assert await one_poll() == 0
    queued = {job.job_id for job in await redis.queued_jobs()}
    assert queued == {f"convert:{order_id}" for order_id in orders}


async def test_the_poller_racing_a_manual_convert_leaves_one_label_and_one_debit(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: Maker,
    redis: ArqRedis,
    settings: Settings,
    worker: WorkerRunner,
    clock: Clock,
) -> None:
    seller = await accounts.create(test_credits=10)
    await set_account(client, seller, convert_tracking=True, **STORE)
    # The slow zip keeps the manual mint (and its lock on the order) in flight while the poller runs.
    order_id = await placed(
        sessionmaker, seller, conversion_due_at=clock(), shipping_address={**SHIPPING_ADDRESS, "zip": "00003"}
    )
    manual = asyncio.create_task(client.post(f"/v1/order/{order_id}/convert", headers=seller.test_headers))
    await _until_locked(sessionmaker, order_id)
    async with unit_of_work(sessionmaker, redis) as session:
        assert await poller.queue_due(session, clock(), settings) == 0  # the locked order is skipped
    # A job already queued for it (an earlier poll) waits for the lock, then finds the label.
    await redis.enqueue_job("convert_order", order_id, _job_id=f"convert:{order_id}")
    await worker.run(clock=clock)
    assert (await manual).status_code == 200
    await redis.enqueue_job("convert_order", order_id, _job_id=f"convert:{order_id}")  # a re-run
    await worker.run(clock=clock)
    assert len(await labels(sessionmaker, order_id)) == 1 and len(await debits(sessionmaker, order_id)) == 1
    assert len(await events(sessionmaker, order_id, "tracking.converted")) == 1
    assert await balance(sessionmaker, seller) == 9


async def _until_locked(sessionmaker: Maker, order_id: str, timeout_s: float = 10) -> None:
    """Wait (polling, with a deadline) until some transaction holds the order's row lock."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        async with sessionmaker() as session:
            free = await session.scalar(
                text("SELECT id FROM orders WHERE id = :id FOR UPDATE SKIP LOCKED"),
                {"id": uuid.UUID(order_id)},
            )
            await session.rollback()
        if not free:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the manual convert never locked the order")
