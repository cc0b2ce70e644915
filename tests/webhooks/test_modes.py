"""Test mode is a world of its own: its own webhook targets and secret, its own delivery log."""

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from orderatlas.config import Settings
from orderatlas.webhooks.payloads import discord_embed
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order
from tests.receiver import Receiver, running_receiver

pytestmark = pytest.mark.asyncio


@pytest.fixture
def live_and_test() -> Iterator[tuple[Receiver, Receiver]]:
    with running_receiver() as live, running_receiver() as test:
        yield live, test


async def put(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.put("/v1/settings", json=body, headers=headers)


async def both_pointed(
    client: httpx.AsyncClient, seller: SellerAccount, live: Receiver, test: Receiver
) -> tuple[dict[str, Any], dict[str, Any]]:
    live_settings = await put(client, seller.live_headers, webhook_url=live.url)
    test_settings = await put(client, seller.test_headers, webhook_url=test.url)
    assert live_settings.status_code == test_settings.status_code == 200, test_settings.text
    return live_settings.json(), test_settings.json()


def signed_with(secrets: dict[str, Any], received: Any) -> bool:
    expected = hmac.new(secrets["webhook_secret"].encode(), received.body, hashlib.sha256).hexdigest()
    Webhook(secrets["standard_webhooks_secret"]).verify(received.body, received.headers)  # raises if not
    return bool(received.headers["x-orderatlas-signature"] == f"sha256={expected}")


async def place(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    answer = await client.post("/v1/order", json=legacy_order(), headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["order_id"])


async def test_each_mode_reads_and_sets_only_its_own_targets_and_secret(
    client: httpx.AsyncClient, accounts: AccountFactory, live_and_test: tuple[Receiver, Receiver]
) -> None:
    seller = await accounts.create()
    live, test = live_and_test
    live_settings, test_settings = await both_pointed(client, seller, live, test)
    assert (live_settings["webhook_url"], test_settings["webhook_url"]) == (live.url, test.url)
    assert live_settings["webhook_secret"] != test_settings["webhook_secret"]
    assert live_settings["standard_webhooks_secret"] != test_settings["standard_webhooks_secret"]
    again = (await client.get("/v1/settings", headers=seller.live_headers)).json()
    assert (again["webhook_url"], again["webhook_secret"]) == (live.url, live_settings["webhook_secret"])

    rotated = await client.post("/v1/settings/rotate-webhook-secret", headers=seller.test_headers)
    assert rotated.status_code == 200
    assert rotated.json()["webhook_secret"] not in (test_settings["webhook_secret"], again["webhook_secret"])
    after = (await client.get("/v1/settings", headers=seller.live_headers)).json()
    assert after["webhook_secret"] == live_settings["webhook_secret"]  # live's secret did not move


async def test_a_test_key_cannot_change_what_live_shares(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    answer = await put(client, seller.test_headers, convert_tracking=True, webhook_url="")
    assert answer.status_code == 403
    assert answer.json()["code"] == "live_key_required"
    assert (await client.get("/v1/settings", headers=seller.live_headers)).json()["convert_tracking"] is False


async def test_sandbox_events_go_to_the_test_url_signed_with_the_test_secret_and_never_to_live(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    live_and_test: tuple[Receiver, Receiver],
) -> None:
    seller = await accounts.create()
    live, test = live_and_test
    live_settings, test_settings = await both_pointed(client, seller, live, test)
    await place(client, seller.test_headers)
    await worker.run()

    received = test.wait_for(3)
    assert all(signed_with(test_settings, r) for r in received)
    live_key = live_settings["webhook_secret"].encode()
    live_hmacs = {hmac.new(live_key, r.body, "sha256").hexdigest() for r in received}
    assert not {r.headers["x-orderatlas-signature"].removeprefix("sha256=") for r in received} & live_hmacs
    assert {r.json()["livemode"] for r in received} == {False}
    assert live.requests == []


async def test_live_events_go_to_the_live_url_signed_with_the_live_secret(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    settings: Settings,
    live_and_test: tuple[Receiver, Receiver],
) -> None:
    settings.retailer = "sandbox"  # live keys get an adapter; the sandbox will do
    seller = await accounts.create(live_credits=10)
    live, test = live_and_test
    live_settings, _ = await both_pointed(client, seller, live, test)
    await place(client, seller.live_headers)
    await worker.run()

    received = live.wait_for(3)
    assert all(signed_with(live_settings, r) for r in received)
    assert {r.json()["livemode"] for r in received} == {True}
    assert test.requests == []


async def test_the_delivery_log_and_redelivery_are_scoped_to_the_callers_mode(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    settings: Settings,
    live_and_test: tuple[Receiver, Receiver],
) -> None:
    settings.retailer = "sandbox"
    seller = await accounts.create(live_credits=10)
    await both_pointed(client, seller, *live_and_test)
    live_order, test_order = (
        await place(client, seller.live_headers),
        await place(client, seller.test_headers),
    )
    await worker.run()

    def log(headers: dict[str, str], query: str = "") -> Any:
        return client.get(f"/v1/webhooks/deliveries?{query}", headers=headers)

    live_log = (await log(seller.live_headers)).json()
    test_log = (await log(seller.test_headers)).json()
    assert {d["order_id"] for d in live_log["deliveries"]} == {live_order}
    assert {d["order_id"] for d in test_log["deliveries"]} == {test_order}
    assert {d["payload"]["livemode"] for d in test_log["deliveries"]} == {False}
    assert (await log(seller.test_headers, f"order_id={live_order}")).json() == {"deliveries": [], "total": 0}

    live_delivery = live_log["deliveries"][0]["id"]
    for answer in (
        await client.get(f"/v1/webhooks/deliveries/{live_delivery}", headers=seller.test_headers),
        await client.post(f"/v1/webhooks/deliveries/{live_delivery}/redeliver", headers=seller.test_headers),
    ):
        assert answer.status_code == 404, answer.text
    own = await client.post(f"/v1/webhooks/deliveries/{live_delivery}/redeliver", headers=seller.live_headers)
    assert own.status_code == 200, own.text


async def test_key_overrides_keep_working_within_their_mode(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    live_and_test: tuple[Receiver, Receiver],
) -> None:
    seller = await accounts.create()
    live, test = live_and_test
    await both_pointed(client, seller, live, test)
    keys = (await client.get("/v1/api-keys", headers=seller.test_headers)).json()["api_keys"]
    test_key = next(k["id"] for k in keys if k["mode"] == "test")
    with running_receiver() as override:
        patched = await client.patch(
            f"/v1/api-keys/{test_key}", json={"webhook_url": override.url}, headers=seller.test_headers
        )
        assert patched.status_code == 200, patched.text
        await place(client, seller.test_headers)
        await worker.run()
        assert {r.json()["livemode"] for r in override.wait_for(3)} == {False}
    assert live.requests == [] and test.requests == []


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")
def test_discord_embeds_of_test_events_say_test_mode() -> None:
    payload = {"event": "order.created", "status": "pending", "timestamp": "2026-12-01T00:00:00Z"}
    test_embed = discord_embed({**payload, "livemode": False})["embeds"][0]
    live_embed = discord_embed({**payload, "livemode": True})["embeds"][0]
    assert "test mode" in test_embed["title"] and "test mode" in test_embed["footer"]["text"]
    assert "test mode" not in live_embed["title"] + live_embed["footer"]["text"]
