"""Unsafe webhook targets are refused when set, and again at send time; Discord only to Discord."""

import json
from collections.abc import Iterator

import httpx
import pytest
import respx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.webhooks.payloads import BLUE, GOLD, GREEN, RED
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order
from tests.orders.test_checkout import place
from tests.receiver import Receiver, running_receiver
from tests.webhooks.test_delivery import deliveries, emit_status, point_at

pytestmark = pytest.mark.asyncio

UNSAFE = [
    "http://127.0.0.1:9000/hook",
    "http://localhost:8080/hook",
    "http://hooks.localhost/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.9/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",
    "http://[::1]/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
]
MALFORMED = ["ftp://example.com/hook", "not a url", "http:///nohost", "javascript:alert(1)"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def strict(settings: Settings) -> Settings:
    settings.webhook_allow_private_networks = False
    return settings


@pytest.mark.parametrize("url", UNSAFE)
async def test_private_targets_are_refused_when_set(
    client: httpx.AsyncClient, accounts: AccountFactory, strict: Settings, url: str
) -> None:
    seller = await accounts.create()
    response = await client.put("/v1/settings", json={"webhook_url": url}, headers=seller.live_headers)
    assert response.status_code == 400
    assert response.json()["code"] == "unsafe_webhook_url"
    assert (await client.get("/v1/settings", headers=seller.test_headers)).json()["webhook_url"] == ""


@pytest.mark.parametrize("url", MALFORMED)
async def test_non_http_targets_are_refused(
    client: httpx.AsyncClient, accounts: AccountFactory, url: str
) -> None:
    seller = await accounts.create()
    response = await client.put("/v1/settings", json={"webhook_url": url}, headers=seller.live_headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook_url"


async def test_every_place_a_url_is_set_refuses_private_targets(
    client: httpx.AsyncClient, accounts: AccountFactory, strict: Settings
) -> None:
    seller = await accounts.create(test_credits=10)
    keys = (await client.get("/v1/api-keys", headers=seller.test_headers)).json()["api_keys"]
    patch = await client.patch(
        f"/v1/api-keys/{keys[0]['id']}", json={"webhook_url": "http://10.0.0.1/"}, headers=seller.test_headers
    )
    assert patch.status_code == 400 and patch.json()["code"] == "unsafe_webhook_url"
    create = await client.post(
        "/v1/api-keys", json={"mode": "test", "webhook_url": "http://[::1]/"}, headers=seller.test_headers
    )
    assert create.status_code == 400
    order = await client.post(
        "/v1/order", json=legacy_order(webhook_url="http://192.168.0.1/"), headers=seller.test_headers
    )
    assert order.status_code == 400 and order.json()["code"] == "unsafe_webhook_url"
    assert (await client.get("/v1/settings", headers=seller.test_headers)).json()["credit_balance"] == 10


async def test_public_and_unresolved_hosts_are_accepted_when_set(
    client: httpx.AsyncClient, accounts: AccountFactory, strict: Settings
) -> None:
    seller = await accounts.create()
    for url in ("https://93.184.216.34/hook", "https://hooks.example.com/orderatlas"):
        response = await client.put("/v1/settings", json={"webhook_url": url}, headers=seller.live_headers)
        assert response.status_code == 200 and response.json()["webhook_url"] == url


async def test_targets_are_checked_again_at_send_time(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    receiver: Receiver,
    settings: Settings,
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)  # allowed when set (private networks allowed)...
    settings.webhook_allow_private_networks = False  # ...but not any more when sent
    await place(client, seller, legacy_order())
    await worker.run()
    assert receiver.requests == []
    [created] = await deliveries(client, seller, "event=order.created")
    assert created["outcome"] == "failed"
    assert created["attempts"][0]["response_status"] == 0
    assert "non-public" in created["attempts"][0]["error"]


async def test_an_unresolvable_host_is_a_failed_attempt_that_will_be_retried(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, "https://hooks.example.com/orderatlas")
    await place(client, seller, legacy_order())
    await worker.run()
    [created] = await deliveries(client, seller, "event=order.created")
    assert created["outcome"] == "pending"
    assert created["attempts"][0]["response_status"] == 0
    assert "not resolved" in created["attempts"][0]["error"]


async def test_redirects_are_not_followed_and_do_not_count(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, receiver: Receiver
) -> None:
    seller = await accounts.create()
    await point_at(client, seller, receiver.url)
    receiver.status, receiver.reply_headers = 302, {"Location": "http://10.0.0.1/steal"}
    await place(client, seller, legacy_order())
    await worker.run()
    [created] = await deliveries(client, seller, "event=order.created")
    assert created["outcome"] == "pending"
    assert created["attempts"][0]["response_status"] == 302
    assert len([r for r in receiver.requests if r.json()["event"] == "order.created"]) == 1


DISCORD = "https://discord.com/api/webhooks/123/abc"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/api/webhooks/1/a",
        "http://discord.com/api/webhooks/1/a",
        "https://discord.com/other",
    ],
)
async def test_only_discord_urls_are_accepted_for_discord(
    client: httpx.AsyncClient, accounts: AccountFactory, url: str
) -> None:
    seller = await accounts.create()
    response = await client.put(
        "/v1/settings", json={"discord_webhook_url": url}, headers=seller.live_headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_discord_webhook_url"
    for good in (DISCORD, "https://discordapp.com/api/webhooks/9/z"):
        ok = await client.put("/v1/settings", json={"discord_webhook_url": good}, headers=seller.live_headers)
        assert ok.status_code == 200


async def test_discord_gets_colour_coded_embeds(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:

    seller = await accounts.create(test_credits=10)
    await client.put("/v1/settings", json={"discord_webhook_url": DISCORD}, headers=seller.test_headers)
    with respx.mock(assert_all_called=True) as discord:
        route = discord.post(DISCORD).mock(return_value=httpx.Response(204))
        confirmed = await place(client, seller, legacy_order())
        failed = await place(client, seller, legacy_order(account_email="buyer+checkout_blocked@example.com"))
        await worker.run()
        for status in ("shipped", "out_for_delivery", "delivered", "cancelled"):
            await emit_status(sessionmaker, redis, confirmed, status)
        await worker.run()
    embeds = [call.request.read() for call in route.calls]
    colours: dict[str, set[int]] = {}
    for raw in embeds:
        embed = json.loads(raw)["embeds"][0]
        colours.setdefault(embed["title"].split(": ")[1], set()).add(embed["color"])
        assert embed["fields"][0] == {
            "name": "Order id",
            "value": embed["fields"][0]["value"],
            "inline": True,
        }
    assert colours == {
        "pending": {BLUE},
        "processing": {BLUE},
        "confirmed": {BLUE},
        "failed": {RED},
        "shipped": {GOLD},
        "out_for_delivery": {GOLD},
        "delivered": {GREEN},
        "cancelled": {RED},
    }
    orders_seen = {json.loads(raw)["embeds"][0]["fields"][0]["value"] for raw in embeds}
    assert orders_seen == {confirmed, failed}
    for call in route.calls:
        assert call.request.headers["user-agent"] == "OrderAtlas-Webhook/1.0"
        assert "x-orderatlas-signature" not in call.request.headers
