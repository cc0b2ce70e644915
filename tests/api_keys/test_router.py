"""/v1/api-keys: list, create (shown once), per-key overrides, revoke."""

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import ApiKey
from tests.factories import AccountFactory

pytestmark = pytest.mark.asyncio

KEY_FIELDS = {"id", "key_prefix", "name", "email", "mode", "active", "created_at"} | {
    "webhook_url",
    "discord_webhook_url",
    "convert_tracking",
}


async def test_list_shows_keys_without_secrets(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create(email="store@example.com")
    body = (await client.get("/v1/api-keys", headers=seller.test_headers)).json()
    assert body["total"] == 2
    assert {k["mode"] for k in body["api_keys"]} == {"live", "test"}
    for key in body["api_keys"]:
        assert set(key) == KEY_FIELDS
        assert key["email"] == "store@example.com"
        assert len(key["key_prefix"]) == 11 and key["key_prefix"].startswith("oatl_")
    assert seller.test_key not in str(body) and seller.live_key not in str(body)


async def test_a_created_key_is_shown_once_and_works(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    created = await client.post("/v1/api-keys", json={"name": "production"}, headers=seller.live_headers)
    assert created.status_code == 200
    key = created.json()
    assert key["api_key"].startswith("oatl_live_") and len(key["api_key"]) >= 42
    assert key["key_prefix"] == key["api_key"][:11]
    assert (key["name"], key["mode"], key["active"]) == ("production", "live", True)
    assert (await client.get("/v1/settings", headers={"X-API-Key": key["api_key"]})).status_code == 200
    async with sessionmaker() as session:
        stored = list(await session.scalars(select(ApiKey.key_hash)))
    assert key["api_key"] not in stored and len(stored) == 3
    listed = (await client.get("/v1/api-keys", headers=seller.live_headers)).json()
    assert key["api_key"] not in str(listed)


async def test_patch_sets_and_clears_overrides(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    keys = (await client.get("/v1/api-keys", headers=seller.test_headers)).json()["api_keys"]
    key_id = next(k["id"] for k in keys if k["mode"] == "test")
    patched = await client.patch(
        f"/v1/api-keys/{key_id}",
        json={
            "webhook_url": "https://prod.example.com/webhook",
            "discord_webhook_url": "https://discord.com/api/webhooks/123/abc",
            "name": "production",
        },
        headers=seller.test_headers,
    )
    assert patched.status_code == 200
    assert patched.json()["webhook_url"] == "https://prod.example.com/webhook"
    assert patched.json()["name"] == "production"
    renamed = await client.patch(f"/v1/api-keys/{key_id}", json={"name": "prod"}, headers=seller.test_headers)
    assert renamed.json()["webhook_url"] == "https://prod.example.com/webhook"  # untouched
    cleared = await client.patch(
        f"/v1/api-keys/{key_id}",
        json={"webhook_url": "", "discord_webhook_url": ""},
        headers=seller.test_headers,
    )
    assert (cleared.json()["webhook_url"], cleared.json()["discord_webhook_url"]) == ("", "")


async def test_a_revoked_key_gets_401_at_once(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    keys = (await client.get("/v1/api-keys", headers=seller.test_headers)).json()["api_keys"]
    live = next(k for k in keys if k["mode"] == "live")
    revoked = await client.delete(f"/v1/api-keys/{live['id']}", headers=seller.live_headers)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert (await client.get("/v1/settings", headers=seller.live_headers)).status_code == 401


async def test_the_last_active_key_cannot_be_revoked(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    listed = (await client.get("/v1/api-keys", headers=seller.live_headers)).json()["api_keys"]
    keys = {k["mode"]: k["id"] for k in listed}
    assert (
        await client.delete(f"/v1/api-keys/{keys['test']}", headers=seller.live_headers)
    ).status_code == 200
    last = await client.delete(f"/v1/api-keys/{keys['live']}", headers=seller.live_headers)
    assert last.status_code == 409
    assert last.json()["code"] == "last_active_key"
    assert (await client.get("/v1/settings", headers=seller.live_headers)).status_code == 200


async def test_keys_of_another_account_are_404(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    owner, stranger = await accounts.create(), await accounts.create()
    key_id = (await client.get("/v1/api-keys", headers=owner.test_headers)).json()["api_keys"][0]["id"]
    assert (
        await client.patch(f"/v1/api-keys/{key_id}", json={"name": "x"}, headers=stranger.test_headers)
    ).status_code == 404
    assert (await client.delete(f"/v1/api-keys/{key_id}", headers=stranger.test_headers)).status_code == 404
    assert (await client.get("/v1/settings", headers=owner.test_headers)).status_code == 200


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1"])
async def test_listing_is_bounded(client: httpx.AsyncClient, accounts: AccountFactory, query: str) -> None:
    seller = await accounts.create()
    assert (await client.get(f"/v1/api-keys?{query}", headers=seller.test_headers)).status_code == 400


async def test_a_test_key_cannot_mint_or_change_live_keys(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    keys = {
        k["mode"]: k["id"]
        for k in (await client.get("/v1/api-keys", headers=seller.test_headers)).json()["api_keys"]
    }
    for response in (
        await client.post("/v1/api-keys", json={"mode": "live"}, headers=seller.test_headers),
        await client.patch(f"/v1/api-keys/{keys['live']}", json={"name": "x"}, headers=seller.test_headers),
        await client.delete(f"/v1/api-keys/{keys['live']}", headers=seller.test_headers),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "live_key_required"
    test_key = await client.post(
        "/v1/api-keys", json={"mode": "test", "name": "ci"}, headers=seller.test_headers
    )
    assert test_key.status_code == 200 and test_key.json()["api_key"].startswith("oatl_test_")
    assert (await client.get("/v1/settings", headers=seller.live_headers)).status_code == 200
