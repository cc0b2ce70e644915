"""POST /v1/sandbox/orders/:id/advance: move a sandbox order along its timeline now, as a refresh would."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from tests.conftest import Clock, WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order, order_in
from tests.orders.test_checkout import order, place, statuses
from tests.receiver import running_receiver


@pytest.fixture(autouse=True)
def _slow_sandbox(settings: Settings) -> None:
    settings.sandbox_ship_after_s = 3600  # nothing moves by itself while a test runs


async def confirmed(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    seller: SellerAccount,
    clock: Clock | None = None,
    **body: Any,
) -> str:
    order_id = await place(client, seller, legacy_order(**body))
    await worker.run(clock=clock)
    return order_id


async def advance(
    client: httpx.AsyncClient, seller: SellerAccount, order_id: str, body: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(f"/v1/sandbox/orders/{order_id}/advance", json=body, headers=seller.test_headers)


async def test_each_call_takes_the_next_step_and_answers_the_order_as_get_does(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    with running_receiver() as receiver:
        order_id = await confirmed(client, worker, seller, webhook_url=receiver.url)
        answers = []
        for _ in range(3):
            answers.append(await advance(client, seller, order_id))
            await worker.run()  # its webhook send, before the next step (sends run concurrently)
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.json()["status"] for a in answers] == ["shipped", "out_for_delivery", "delivered"]
        detail = await order(client, seller, order_id)
        assert answers[-1].json() == detail
        assert detail["tracking_number"] and detail["order_html_url"] and detail["invoice_link"]
        last = await advance(client, seller, order_id)
        assert (last.status_code, last.json()["code"]) == (409, "invalid_transition")
        assert "no next step" in last.json()["error"]
        sent = [(r.json().get("previous_status"), r.json()["status"]) for r in receiver.wait_for(6)]
    assert sent[3:] == [
        ("confirmed", "shipped"),
        ("shipped", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    assert (await statuses(sessionmaker, order_id))[-3:] == [
        ("confirmed", "shipped"),
        ("shipped", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]


async def test_an_explicit_target_may_skip_steps_but_never_go_back(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    order_id = await confirmed(client, worker, seller)
    ahead = await advance(client, seller, order_id, {"status": "out_for_delivery"})
    assert ahead.json()["status"] == "out_for_delivery"
    back = await advance(client, seller, order_id, {"status": "shipped"})
    assert (back.status_code, back.json()["code"]) == (409, "invalid_transition")
    assert (await order(client, seller, order_id))["status"] == "out_for_delivery"
    refunded = await advance(client, seller, order_id, {"status": "refunded"})
    assert refunded.json()["status"] == "refunded"


@pytest.mark.parametrize(
    ("tag", "first"), [("cancelled", "cancelled"), ("lost", "shipped"), ("refunded", "shipped")]
)
async def test_the_next_step_follows_the_plus_tag_s_timeline(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, tag: str, first: str
) -> None:
    seller = await accounts.create()
    order_id = await confirmed(client, worker, seller, account_email=f"buyer+{tag}@example.com")
    assert (await advance(client, seller, order_id)).json()["status"] == first


async def test_an_order_stuck_without_tracking_has_no_next_step_but_takes_a_target(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    order_id = await confirmed(client, worker, seller, account_email="buyer+no_tracking@example.com")
    assert (await advance(client, seller, order_id)).status_code == 409
    assert (await advance(client, seller, order_id, {"status": "shipped"})).json()["status"] == "shipped"


async def test_it_takes_the_same_path_as_the_refresh_so_no_step_is_sent_twice(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, settings: Settings
) -> None:
    settings.sandbox_ship_after_s = 60
    seller, clock = await accounts.create(), Clock()
    with running_receiver() as receiver:
        order_id = await confirmed(client, worker, seller, clock, webhook_url=receiver.url)
        await advance(client, seller, order_id)  # shipped now, well before the timeline's 60 s
        for _ in range(2):
            clock.advance(61)  # the timeline reaches shipped (nothing to do), then out for delivery
            await worker.run(with_cron=True, clock=clock)
        changes = [r.json()["status"] for r in receiver.wait_for(5)]
    assert changes == ["pending", "processing", "confirmed", "shipped", "out_for_delivery"]


async def test_test_keys_only_and_only_their_own_sandbox_orders(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, stranger = await accounts.create(), await accounts.create()
    order_id = await confirmed(client, worker, owner)
    live_key = await client.post(f"/v1/sandbox/orders/{order_id}/advance", headers=owner.live_headers)
    assert (live_key.status_code, live_key.json()["code"]) == (403, "test_key_required")
    assert (await advance(client, stranger, order_id)).status_code == 404
    live_order = await order_in(sessionmaker, owner, "confirmed", test_mode=False)
    assert (await advance(client, owner, live_order)).status_code == 404
    assert (await order(client, owner, order_id))["status"] == "confirmed"


async def test_an_order_in_checkout_is_left_to_the_checkout(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    order_id = await place(client, seller, legacy_order())
    response = await advance(client, seller, order_id, {"status": "confirmed"})
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")


async def test_an_unknown_target_is_400(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    order_id = await confirmed(client, worker, seller)
    for target in ("banana", "pending", "failed"):
        response = await advance(client, seller, order_id, {"status": target})
        assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
