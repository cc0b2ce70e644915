"""POST /v1/sessions/validate: whether a cookie session is still logged in, as the adapter says."""

import httpx
import pytest

from orderatlas.config import Settings
from tests.factories import AccountFactory


@pytest.mark.parametrize(
    ("cookie", "valid", "status"),
    [
        ("session-id=131-1234567-7654321; ubid-main=133-0000000", True, "LOGGED_IN"),
        ("session-id=131; sandbox=LOGGED_OUT", False, "LOGGED_OUT"),
        ("session-id=131; sandbox=challenged", False, "CHALLENGED"),
    ],
)
async def test_the_sandbox_answers_by_the_cookie_string(
    client: httpx.AsyncClient, accounts: AccountFactory, cookie: str, valid: bool, status: str
) -> None:
    seller = await accounts.create()
    response = await client.post(
        "/v1/sessions/validate", json={"cookie_string": cookie}, headers=seller.test_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"valid", "status", "cookie_string", "message"}
    assert (body["valid"], body["status"], body["cookie_string"]) == (valid, status, cookie)
    assert body["message"]


@pytest.mark.parametrize(
    ("body", "code", "http_status"),
    [
        ({}, "missing_field", 400),
        ({"cookie_string": ""}, "invalid_request", 400),
        ({"cookie_string": "a=b", "platform": "Walmart"}, "invalid_platform", 400),
        ({"cookie_string": "a=b", "proxy": "nope"}, "invalid_proxy", 400),
        ({"cookie_string": "a=b", "proxy": "203.0.113.7:1"}, "proxy_unreachable", 503),
    ],
)
async def test_bad_requests(
    client: httpx.AsyncClient, accounts: AccountFactory, body: dict[str, str], code: str, http_status: int
) -> None:
    seller = await accounts.create()
    response = await client.post("/v1/sessions/validate", json=body, headers=seller.test_headers)
    assert response.status_code == http_status, response.text
    assert response.json()["code"] == code
    assert "a=b" not in response.json()["error"]


async def test_a_live_key_needs_a_retailer_and_a_key_at_all(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    seller = await accounts.create()
    body = {"cookie_string": "session-id=1"}
    assert (await client.post("/v1/sessions/validate", json=body)).status_code == 401
    response = await client.post("/v1/sessions/validate", json=body, headers=seller.live_headers)
    assert (response.status_code, response.json()["code"]) == (503, "retailer_not_configured")
    settings.retailer = "sandbox"
    response = await client.post("/v1/sessions/validate", json=body, headers=seller.live_headers)
    assert response.json()["status"] == "LOGGED_IN"
