"""GET /v1/order/:id/events: the order's status history, oldest first, paged, own orders only."""

import httpx
import pytest

from orderatlas.config import Settings
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order
from tests.orders.test_checkout import checkout


@pytest.fixture(autouse=True)
def _slow_sandbox(settings: Settings) -> None:
    settings.sandbox_ship_after_s = 3600  # only the test's own calls move the order


async def test_the_history_lists_each_change_in_order_from_created_to_delivered(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await checkout(client, worker, seller, legacy_order())
    advanced = await client.post(f"/v1/sandbox/orders/{detail['id']}/advance", headers=seller.test_headers)
    assert advanced.status_code == 200, advanced.text
    marked = await client.post(f"/v1/order/{detail['id']}/delivered", headers=seller.test_headers)
    assert marked.status_code == 200, marked.text

    response = await client.get(f"/v1/order/{detail['id']}/events", headers=seller.test_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    steps = [(e["previous_status"], e["status"]) for e in body["events"]]
    assert steps == [
        (None, "pending"),
        ("pending", "processing"),
        ("processing", "confirmed"),
        ("confirmed", "shipped"),
        ("shipped", "delivered"),
    ]
    assert body["id"] == detail["id"] and body["total"] == 5
    times = [e["created_at"] for e in body["events"]]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)


async def test_the_history_pages_with_limit_and_offset_and_bounds_the_limit(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await checkout(client, worker, seller, legacy_order())
    url = f"/v1/order/{detail['id']}/events"
    page = (await client.get(url, params={"limit": 2, "offset": 1}, headers=seller.test_headers)).json()
    assert [e["status"] for e in page["events"]] == ["processing", "confirmed"]
    assert page["total"] == 3
    past_the_end = (await client.get(url, params={"offset": 50}, headers=seller.test_headers)).json()
    assert past_the_end["events"] == [] and past_the_end["total"] == 3
    too_many = await client.get(url, params={"limit": 201}, headers=seller.test_headers)
    assert too_many.status_code == 400 and too_many.json()["code"]


async def test_another_accounts_order_or_the_other_mode_is_not_found(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller, other = await accounts.create(), await accounts.create()
    detail = await checkout(client, worker, seller, legacy_order())
    url = f"/v1/order/{detail['id']}/events"
    for headers in (other.test_headers, seller.live_headers):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.json() == {"error": f"order {detail['id']} not found", "code": "not_found"}
