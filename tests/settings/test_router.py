"""GET/PUT /v1/settings, as the reference describes them."""

import base64

import httpx
import pytest

from tests.factories import AccountFactory

pytestmark = pytest.mark.asyncio


async def test_settings_have_every_reference_field_and_a_generated_secret(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(
        test_credits=45, live_credits=300, email="store@example.com", rate_limit=60
    )
    body = (await client.get("/v1/settings", headers=seller.test_headers)).json()
    assert set(body) >= {
        "convert_tracking", "webhook_url", "discord_webhook_url", "webhook_secret", "rate_limit",
        "credit_balance", "email", "ship_from_name", "ship_from_line1", "ship_from_city", "ship_from_state",
        "ship_from_zip", "ship_from_phone", "ship_from_required", "standard_webhooks_secret",
    }  # fmt: skip
    assert (body["credit_balance"], body["email"], body["rate_limit"]) == (45, "store@example.com", 60)
    assert len(body["webhook_secret"]) == 64 and int(body["webhook_secret"], 16) >= 0
    assert (
        body["standard_webhooks_secret"]
        == "whsec_" + base64.b64encode(body["webhook_secret"].encode()).decode()
    )
    assert (body["webhook_url"], body["convert_tracking"], body["ship_from_required"]) == ("", False, False)


async def test_credit_balance_is_the_callers_mode(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=45, live_credits=300)
    assert (await client.get("/v1/settings", headers=seller.test_headers)).json()["credit_balance"] == 45
    assert (await client.get("/v1/settings", headers=seller.live_headers)).json()["credit_balance"] == 300


async def test_put_is_a_partial_update(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    first = await client.put(
        "/v1/settings",
        json={"webhook_url": "https://hooks.example.com/a", "ship_from_name": "Your Store"},
        headers=seller.live_headers,
    )
    assert first.status_code == 200
    second = await client.put("/v1/settings", json={"convert_tracking": True}, headers=seller.live_headers)
    body = second.json()
    assert body["webhook_url"] == "https://hooks.example.com/a"
    assert body["ship_from_name"] == "Your Store"
    assert body["convert_tracking"] is True


async def test_ship_from_required_while_converting_without_an_address(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    on = await client.put("/v1/settings", json={"convert_tracking": True}, headers=seller.live_headers)
    assert on.json()["ship_from_required"] is True
    address = {
        "ship_from_name": "Your Store", "ship_from_line1": "123 Main St", "ship_from_city": "Austin",
        "ship_from_state": "TX", "ship_from_zip": "78701", "ship_from_phone": "5125551234",
    }  # fmt: skip
    set_ = await client.put("/v1/settings", json=address, headers=seller.live_headers)
    assert set_.json()["ship_from_required"] is False
    assert {k: set_.json()[k] for k in address} == address


async def test_empty_string_clears_a_url(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    await client.put(
        "/v1/settings",
        json={
            "webhook_url": "https://hooks.example.com/a",
            "discord_webhook_url": "https://discord.com/api/webhooks/1/a",
        },
        headers=seller.live_headers,
    )
    cleared = await client.put(
        "/v1/settings", json={"webhook_url": "", "discord_webhook_url": ""}, headers=seller.live_headers
    )
    assert (cleared.json()["webhook_url"], cleared.json()["discord_webhook_url"]) == ("", "")


async def test_a_bad_field_changes_nothing(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    response = await client.put(
        "/v1/settings",
        json={"ship_from_name": "Changed", "discord_webhook_url": "https://evil.example/x"},
        headers=seller.live_headers,
    )
    assert response.status_code == 400
    assert (await client.get("/v1/settings", headers=seller.test_headers)).json()["ship_from_name"] == ""


async def test_settings_need_a_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/settings")).status_code == 401
    assert (await client.put("/v1/settings", json={})).status_code == 401
    assert (await client.post("/v1/settings/rotate-webhook-secret")).status_code == 401


async def test_a_test_key_changes_test_modes_webhooks_and_never_lives(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    live_before = (await client.get("/v1/settings", headers=seller.live_headers)).json()
    for response in (
        await client.put(
            "/v1/settings", json={"webhook_url": "https://x.example.com/h"}, headers=seller.test_headers
        ),
        await client.post("/v1/settings/rotate-webhook-secret", headers=seller.test_headers),
    ):
        assert response.status_code == 200, response.text
    assert (await client.get("/v1/settings", headers=seller.live_headers)).json() == live_before
    test_now = (await client.get("/v1/settings", headers=seller.test_headers)).json()
    assert test_now["webhook_url"] == "https://x.example.com/h"
