"""POST /v1/order/:id/convert and /drop-conversion: each refusal, the charge, drop and re-convert."""

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from tests.conversion.helpers import balance, debits, events, labels, order_row, placed
from tests.factories import SHIPPING_ADDRESS, AccountFactory, SellerAccount

AQUAA = re.compile(r"^AQUAA\d{10}YQ$")
Maker = async_sessionmaker[AsyncSession]


def ship_to(zip_code: str) -> dict[str, str]:
    return {**SHIPPING_ADDRESS, "zip": zip_code}


async def convert(client: httpx.AsyncClient, seller: SellerAccount, reference: str) -> httpx.Response:
    return await client.post(f"/v1/order/{reference}/convert", headers=seller.test_headers)


async def drop(client: httpx.AsyncClient, seller: SellerAccount, reference: str) -> httpx.Response:
    return await client.post(f"/v1/order/{reference}/drop-conversion", headers=seller.test_headers)


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    return dict(response.json())


async def test_a_conversion_answers_the_reference_body_charges_once_and_fires_its_event(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await placed(sessionmaker, seller, "shipped", tracking_number="TBA123456789", carrier="AMZN")
    platform_order_id = (await order_row(sessionmaker, order_id)).platform_order_id

    response = await convert(client, seller, platform_order_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"order_id", "tracking_number", "aqualine_tracking", "carrier", "message"}
    assert body["order_id"] == platform_order_id  # named as the path named it
    assert (body["tracking_number"], body["carrier"]) == ("TBA123456789", "AMZN")
    assert AQUAA.match(body["aqualine_tracking"]) and body["message"] == "tracking converted successfully"
    detail = (await client.get(f"/v1/order/{order_id}", headers=seller.test_headers)).json()
    assert detail["aqualine_tracking"] == body["aqualine_tracking"]
    assert detail["dropped_aqualine_tracking"] == []
    assert detail["credits_remaining"] == 9
    assert await debits(sessionmaker, order_id) == [(-1, body["aqualine_tracking"])]
    assert await balance(sessionmaker, seller) == 9
    [event] = await events(sessionmaker, order_id, "tracking.converted")
    assert event["aqualine_tracking"] == body["aqualine_tracking"] and event["status"] == "shipped"


async def test_unsupported_platforms_unplaced_orders_and_converted_ones_are_refused_unchanged(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker
) -> None:
    seller = await accounts.create(test_credits=10)
    japanese = await placed(sessionmaker, seller, platform="AmazonJP")
    body = refused(await convert(client, seller, japanese), 400, "platform_not_supported")
    assert body["error"] == "platform AmazonJP is not supported by Aquiline"
    for status in ("pending", "processing", "failed", "PRICE_EXCEEDED", "cancelled"):
        refused(
            await convert(client, seller, await placed(sessionmaker, seller, status)),
            409,
            "order_not_convertible",
        )
    converted = await placed(sessionmaker, seller)
    assert (await convert(client, seller, converted)).status_code == 200
    refused(await convert(client, seller, converted), 409, "already_converted")
    refused(await convert(client, seller, "112-0000000-0000000"), 404, "not_found")
    stranger = await accounts.create()
    refused(await convert(client, stranger, converted), 404, "not_found")
    assert await balance(sessionmaker, seller) == 9  # only the one conversion was charged


async def test_too_few_credits_is_402_with_the_balance_and_mints_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker, settings: Settings
) -> None:
    settings.cost_tracking_conversion = 3
    seller = await accounts.create(test_credits=2)
    order_id = await placed(sessionmaker, seller)
    body = refused(await convert(client, seller, order_id), 402, "insufficient_credits")
    assert body["credits_remaining"] == 2 and body["error"] == "insufficient credits: have 2, need 3"
    assert await labels(sessionmaker, order_id) == [] and await debits(sessionmaker, order_id) == []
    assert (await order_row(sessionmaker, order_id)).aqualine_tracking is None


async def test_a_provider_failure_is_502_with_its_reason_and_debits_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker
) -> None:
    seller = await accounts.create(test_credits=10)
    rejected = await placed(sessionmaker, seller, shipping_address=ship_to("00000"))
    body = refused(await convert(client, seller, rejected), 502, "conversion_failed")
    assert "not routable" in body["error"]
    flaky = await placed(sessionmaker, seller, shipping_address=ship_to("00001"))
    refused(await convert(client, seller, flaky), 502, "conversion_failed")
    assert await balance(sessionmaker, seller) == 10 and await debits(sessionmaker, flaky) == []
    # The failed attempt was kept: the sandbox's fail-once zip mints on the second.
    second = await convert(client, seller, flaky)
    assert second.status_code == 200 and await balance(sessionmaker, seller) == 9
    assert await events(sessionmaker, rejected, "tracking.converted") == []


async def test_a_live_key_without_a_provider_is_503(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker
) -> None:
    seller = await accounts.create(live_credits=5)
    order_id = await placed(sessionmaker, seller, test_mode=False)
    response = await client.post(f"/v1/order/{order_id}/convert", headers=seller.live_headers)
    refused(response, 503, "conversion_provider_not_configured")


async def test_drop_keeps_every_label_newest_first_refunds_nothing_and_a_reconvert_charges_again(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker
) -> None:
    seller = await accounts.create(test_credits=10)
    order_id = await placed(sessionmaker, seller, "shipped")
    refused(await drop(client, seller, order_id), 409, "not_converted")
    first = (await convert(client, seller, order_id)).json()["aqualine_tracking"]

    dropped = await drop(client, seller, order_id)

    assert dropped.status_code == 200
    assert dropped.json() == {
        "success": True,
        "order_id": order_id,
        "dropped_aqualine": first,
        "message": "Aquiline conversion dropped — order is ready to be re-converted. The dropped label will "
        "keep refreshing until it reaches delivered/cancelled (per Aquiline TOS).",
    }
    detail = (await client.get(f"/v1/order/{order_id}", headers=seller.test_headers)).json()
    assert (detail["aqualine_tracking"], detail["dropped_aqualine_tracking"], detail["status"]) == (
        "",
        [first],
        "shipped",
    )
    assert await balance(sessionmaker, seller) == 9  # no refund
    refused(await drop(client, seller, order_id), 409, "not_converted")
    second = (await convert(client, seller, order_id)).json()["aqualine_tracking"]
    assert second != first
    await drop(client, seller, order_id)
    third = (await convert(client, seller, order_id)).json()["aqualine_tracking"]
    detail = (await client.get(f"/v1/order/{order_id}", headers=seller.test_headers)).json()
    assert (detail["aqualine_tracking"], detail["dropped_aqualine_tracking"]) == (third, [second, first])
    assert await debits(sessionmaker, order_id) == [(-1, first), (-1, second), (-1, third)]
    assert [label.state for label in await labels(sessionmaker, order_id)] == ["dropped", "dropped", "active"]


async def test_concurrent_converts_mint_one_label_and_charge_once(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: Maker, settings: Settings
) -> None:
    settings.sandbox_conversion_slow_s = 0.3  # the slow zip keeps the first mint in flight meanwhile
    seller = await accounts.create(test_credits=10)
    order_id = await placed(sessionmaker, seller, shipping_address=ship_to("00003"))

    answers = await asyncio.gather(*(convert(client, seller, order_id) for _ in range(6)))

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409, 409]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"already_converted"}
    assert len(await labels(sessionmaker, order_id)) == 1 and len(await debits(sessionmaker, order_id)) == 1
    assert await balance(sessionmaker, seller) == 9
    assert len(await events(sessionmaker, order_id, "tracking.converted")) == 1


@pytest.fixture(autouse=True)
def _fast_sandbox(settings: Settings) -> None:
    settings.sandbox_conversion_slow_s = 0.3
