"""POST/GET/DELETE /v1/order over HTTP: shapes, validation, auth, credits, isolation."""

import json
import uuid
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.models import Account, CreditTransaction, Order, OrderEvent, OrderItem
from tests.factories import AccountFactory, legacy_order, multi_order

pytestmark = pytest.mark.asyncio


async def _counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session:
        return {
            model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Order, OrderItem, OrderEvent, CreditTransaction)
        }


async def _queued_jobs(redis: ArqRedis) -> int:
    return int(await redis.zcard("arq:queue"))


async def test_legacy_order_is_accepted_pending_and_debited(
    client: httpx.AsyncClient, accounts: AccountFactory, redis: ArqRedis
) -> None:
    seller = await accounts.create(test_credits=10)
    response = await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "order_id", "platform", "status", "message", "credits_remaining"}
    assert body["success"] is True
    assert body["platform"] == "AmazonUS"
    assert body["status"] == "pending"
    assert body["credits_remaining"] == 8
    uuid.UUID(body["order_id"])
    assert await _queued_jobs(redis) == 1


async def test_multi_item_order_writes_one_row_per_line(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    response = await client.post("/v1/order", json=multi_order(), headers=seller.test_headers)
    assert response.status_code == 200
    detail = (
        await client.get(f"/v1/order/{response.json()['order_id']}", headers=seller.test_headers)
    ).json()
    assert [(i["asin"], i["quantity"], i["price_max"]) for i in detail["items"]] == [
        ("B09V3KXJPB", 1, 50.0),
        ("B0CLWJ1423", 2, 80.0),
    ]
    assert (await _counts(sessionmaker))["order_items"] == 2


async def test_items_win_over_legacy_fields(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    body = multi_order(product_id="not-an-asin", quantity=7, price_max=1)
    response = await client.post("/v1/order", json=body, headers=seller.test_headers)
    assert response.status_code == 200
    detail = (
        await client.get(f"/v1/order/{response.json()['order_id']}", headers=seller.test_headers)
    ).json()
    assert [i["asin"] for i in detail["items"]] == ["B09V3KXJPB", "B0CLWJ1423"]


@pytest.mark.parametrize(("quantity", "expected"), [(None, 1), (0, 1), (-3, 1), (4, 4)])
async def test_quantity_omitted_or_not_positive_means_one(
    client: httpx.AsyncClient, accounts: AccountFactory, quantity: int | None, expected: int
) -> None:
    seller = await accounts.create()
    body = legacy_order(price_max=0)
    if quantity is None:
        body.pop("quantity")
    else:
        body["quantity"] = quantity
    response = await client.post("/v1/order", json=body, headers=seller.test_headers)
    detail = (
        await client.get(f"/v1/order/{response.json()['order_id']}", headers=seller.test_headers)
    ).json()
    assert detail["quantity"] == expected
    assert detail["items"][0]["price_max"] == 0  # 0 means no cap


async def test_every_optional_field_of_the_full_example_is_accepted(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    body = legacy_order(
        account_2fa_secret="JBSWY3DPEHPK3PXP",
        proxy="10.0.0.1:8080:user:pass",
        ship_from={
            "name": "Your Store",
            "phone": "9735551234",
            "line1": "1500 Industrial Pkwy",
            "city": "Edison",
            "state": "NJ",
            "zip": "08817",
        },
        payment_method={
            "credit_card_number": "4111111111111111",
            "holder_name": "John Doe",
            "exp_month": "01",
            "exp_year": "2029",
            "cvv": "123",
            "billing_address": {"name": "John Doe", "line1": "123 Main St", "city": "Austin"},
        },
        webhook_url="https://yourapp.example/webhooks",
        convert_tracking=True,
        auto_subscribe_save=True,
        gift=True,
        gifter_name="Your Store",
        gift_message="Enjoy!",
    )
    body["shipping_address"]["line2"] = "Apt 4B"
    response = await client.post("/v1/order", json=body, headers=seller.test_headers)
    assert response.status_code == 200, response.text
    detail = (
        await client.get(f"/v1/order/{response.json()['order_id']}", headers=seller.test_headers)
    ).json()
    assert detail["auto_subscribe_save"] is True


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown platform", legacy_order(platform="AmazonXX"), "invalid_platform"),
    ("walmart is not a platform", legacy_order(platform="Walmart"), "invalid_platform"),
    ("no platform", {k: v for k, v in legacy_order().items() if k != "platform"}, "missing_field"),
    ("no product at all", {k: v for k, v in legacy_order().items() if k != "product_id"}, "missing_product"),
    ("no password", {k: v for k, v in legacy_order().items() if k != "account_password"}, "missing_field"),
    ("empty password", legacy_order(account_password=""), "missing_field"),
    ("no email", {k: v for k, v in legacy_order().items() if k != "account_email"}, "missing_field"),
    (
        "no shipping address",
        {k: v for k, v in legacy_order().items() if k != "shipping_address"},
        "missing_field",
    ),
    (
        "shipping address without zip",
        legacy_order(shipping_address={"name": "J", "phone": "1", "line1": "x", "city": "y", "state": "TX"}),
        "missing_field",
    ),
    ("item without asin", multi_order(items=[{"quantity": 1}]), "missing_field"),
    (
        "card without number",
        legacy_order(payment_method={"holder_name": "J", "exp_month": "01", "exp_year": "2029"}),
        "missing_field",
    ),
    ("gift without gifter", legacy_order(gift=True), "gifter_name_required"),
    ("gift with blank gifter", legacy_order(gift=True, gifter_name="  "), "gifter_name_required"),
    ("short asin", legacy_order(product_id="B09V3KX"), "invalid_asin"),
    ("asin with punctuation", legacy_order(product_id="B09V3-XJPB"), "invalid_asin"),
    ("bad item asin", multi_order(items=[{"asin": "nope", "quantity": 1}]), "invalid_asin"),
    ("price is text", legacy_order(price_max="fifty"), "invalid_price"),
    ("price is a bool", legacy_order(price_max=True), "invalid_price"),
    ("price is negative", legacy_order(price_max=-5), "invalid_price"),
    (
        "item price is text",
        multi_order(items=[{"asin": "B09V3KXJPB", "price_max": "cheap"}]),
        "invalid_price",
    ),
    ("quantity is text", legacy_order(quantity="two"), "invalid_quantity"),
    ("malformed proxy", legacy_order(proxy="just-a-host"), "invalid_proxy"),
    (
        "NUL in an address",
        legacy_order(shipping_address={**legacy_order()["shipping_address"], "zip": "7\x00"}),
        "invalid_text",
    ),
]


@pytest.mark.parametrize(("case", "body", "code"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
async def test_bad_input_is_400_with_a_code_and_writes_nothing(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    case: str,
    body: dict[str, Any],
    code: str,
) -> None:
    seller = await accounts.create(test_credits=10)
    before = await _counts(sessionmaker)
    raw = json.dumps(body)  # ASCII escapes, so even a lone surrogate travels as a client would send it
    headers = {**seller.test_headers, "Content-Type": "application/json"}
    response = await client.post("/v1/order", content=raw, headers=headers)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "code"}
    assert response.json()["code"] == code
    assert await _counts(sessionmaker) == before
    assert await _queued_jobs(redis) == 0


async def test_invalid_json_is_400(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    response = await client.post(
        "/v1/order", content=b"{not json", headers={**seller.test_headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


async def test_validation_errors_never_echo_the_rejected_secret(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    body = legacy_order(payment_method={"credit_card_number": {"nested": "4000056655665556"}})
    response = await client.post("/v1/order", json=body, headers=seller.test_headers)
    assert response.status_code == 400
    assert "4000056655665556" not in response.text


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "oatl_test_" + "x" * 40}, {"X-API-Key": ""}])
async def test_missing_or_wrong_key_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for response in (
        await client.post("/v1/order", json=legacy_order(), headers=headers),
        await client.get(f"/v1/order/{uuid.uuid4()}", headers=headers),
        await client.delete(f"/v1/order/{uuid.uuid4()}", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response.json()["error"]


async def test_insufficient_credits_is_402_and_writes_nothing(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    seller = await accounts.create(test_credits=1, live_credits=50)
    before = await _counts(sessionmaker)
    response = await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    assert response.status_code == 402
    assert response.json() == {
        "error": "insufficient credits: have 1, need 2",
        "code": "insufficient_credits",
        "credits_remaining": 1,
    }
    assert await _counts(sessionmaker) == before
    assert await _queued_jobs(redis) == 0
    async with sessionmaker() as session:
        balances = (
            await session.execute(
                select(Account.test_credit_balance, Account.credit_balance).where(
                    Account.email == seller.email
                )
            )
        ).one()
    assert tuple(balances) == (1, 50)  # the live balance could have paid, and was not touched


async def test_placement_cost_is_configurable(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    settings.cost_order_placement = 5
    seller = await accounts.create(test_credits=12)
    response = await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    assert response.json()["credits_remaining"] == 7


async def test_live_key_without_retailer_is_503_and_charges_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10, live_credits=10)
    before = await _counts(sessionmaker)
    response = await client.post("/v1/order", json=legacy_order(), headers=seller.live_headers)
    assert response.status_code == 503
    assert response.json()["code"] == "retailer_not_configured"
    assert await _counts(sessionmaker) == before


async def test_live_key_uses_the_configured_sandbox(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    settings.retailer = "sandbox"
    seller = await accounts.create(test_credits=10, live_credits=20)
    response = await client.post("/v1/order", json=legacy_order(), headers=seller.live_headers)
    assert response.status_code == 200
    assert response.json()["credits_remaining"] == 18


async def test_unknown_retailer_name_is_503(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    settings.retailer = "walmart"
    seller = await accounts.create(test_credits=10)
    response = await client.post("/v1/order", json=legacy_order(), headers=seller.live_headers)
    assert response.status_code == 503
    assert response.json()["code"] == "retailer_not_configured"


async def test_sandbox_proxy_on_port_1_is_503_and_charges_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    before = await _counts(sessionmaker)
    body = legacy_order(proxy="154.7.143.184:1:user:pass")
    response = await client.post("/v1/order", json=body, headers=seller.test_headers)
    assert response.status_code == 503
    assert response.json()["code"] == "proxy_unreachable"
    assert "pass" not in response.json()["error"]
    assert await _counts(sessionmaker) == before


async def test_get_returns_every_reference_field(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = (await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)).json()[
        "order_id"
    ]
    detail = (await client.get(f"/v1/order/{order_id}", headers=seller.test_headers)).json()
    reference_fields = {
        "id",
        "platform",
        "status",
        "platform_order_id",
        "asin",
        "product_title",
        "price",
        "shipping",
        "credit",
        "tax",
        "total",
        "price_amount",
        "shipping_amount",
        "credit_amount",
        "tax_amount",
        "total_amount",
        "invoice_link",
        "invoice_fetched_at",
        "logged_in",
        "auto_subscribe_save",
        "subscription_canceled",
        "tracking_number",
        "carrier",
        "aqualine_tracking",
        "order_html_url",
        "order_html_updated_at",
        "failure_reason_code",
        "created_at",
        "updated_at",
        "credits_remaining",
    }
    assert reference_fields <= set(detail)
    assert detail["id"] == order_id
    assert detail["status"] == "pending"
    assert detail["failure_reason_code"] == ""
    assert detail["notes"] == []
    assert detail["logged_in"] is False
    assert detail["created_at"].endswith("Z")
    assert detail["credits_remaining"] == 8


async def test_unknown_order_is_404(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    for path in (f"/v1/order/{uuid.uuid4()}", "/v1/order/112-0000000-0000000", "/v1/order/112%00"):
        response = await client.get(path, headers=seller.test_headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


async def test_another_accounts_order_is_404(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    owner, stranger = await accounts.create(), await accounts.create()
    order_id = (await client.post("/v1/order", json=legacy_order(), headers=owner.test_headers)).json()[
        "order_id"
    ]
    assert (await client.get(f"/v1/order/{order_id}", headers=stranger.test_headers)).status_code == 404
    assert (await client.delete(f"/v1/order/{order_id}", headers=stranger.test_headers)).status_code == 404
    assert (await client.get(f"/v1/order/{order_id}", headers=owner.test_headers)).status_code == 200


async def test_pending_order_cannot_be_deleted(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create()
    order_id = (await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)).json()[
        "order_id"
    ]
    response = await client.delete(f"/v1/order/{order_id}", headers=seller.test_headers)
    assert response.status_code == 409
    assert response.json()["code"] == "order_in_progress"


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nowhere")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "code"}


async def test_openapi_documents_400_errors_not_422(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    post = spec["paths"]["/v1/order"]["post"]
    assert {"200", "400", "401", "402", "503"} <= set(post["responses"])
    assert "ErrorBody" in str(post["responses"]["422"])  # idempotency_key_reused, not a validation error
    assert "HTTPValidationError" not in str(spec)
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["error", "code"]


async def test_test_and_live_orders_are_separate(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    settings.retailer = "sandbox"
    seller = await accounts.create(test_credits=10, live_credits=10)
    test_order = (await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)).json()[
        "order_id"
    ]
    live_order = (await client.post("/v1/order", json=legacy_order(), headers=seller.live_headers)).json()[
        "order_id"
    ]
    assert (await client.get(f"/v1/order/{test_order}", headers=seller.live_headers)).status_code == 404
    assert (await client.get(f"/v1/order/{live_order}", headers=seller.test_headers)).status_code == 404
    assert (await client.delete(f"/v1/order/{live_order}", headers=seller.test_headers)).status_code == 404
    assert (await client.get(f"/v1/order/{live_order}", headers=seller.live_headers)).status_code == 200
