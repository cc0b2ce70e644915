"""GET /v1/dashboard/tracking-conversions: converted orders only, newest first, bounded."""

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models.base import utcnow
from tests.factories import AccountFactory, order_in


async def test_lists_converted_orders_of_the_key_s_mode_newest_first_with_the_total(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller, other = await accounts.create(), await accounts.create()
    now = utcnow()
    converted = [
        await order_in(
            sessionmaker,
            seller,
            "shipped",
            aqualine_tracking=f"AQUAA{n:010d}YQ",
            tracking_number=f"TBA{n}",
            created_at=now - timedelta(minutes=n),
        )
        for n in range(3)
    ]
    await order_in(sessionmaker, seller, "shipped")  # not converted
    await order_in(sessionmaker, seller, "shipped", aqualine_tracking="AQUAA9999999999YQ", test_mode=False)
    await order_in(sessionmaker, other, "shipped", aqualine_tracking="AQUAA8888888888YQ")

    body = (await client.get("/v1/dashboard/tracking-conversions", headers=seller.test_headers)).json()

    assert body["total"] == 3
    assert [row["id"] for row in body["orders"]] == converted  # newest first
    first = body["orders"][0]
    assert set(first) == {
        "id",
        "platform_order_id",
        "status",
        "tracking_number",
        "converted_tracking",
        "created_at",
    }
    assert (first["converted_tracking"], first["tracking_number"], first["status"]) == (
        "AQUAA0000000000YQ",
        "TBA0",
        "shipped",
    )
    page = (
        await client.get("/v1/dashboard/tracking-conversions?limit=1&offset=1", headers=seller.test_headers)
    ).json()
    assert ([row["id"] for row in page["orders"]], page["total"]) == ([converted[1]], 3)
    too_many = await client.get("/v1/dashboard/tracking-conversions?limit=201", headers=seller.test_headers)
    assert too_many.status_code == 400
    live = (await client.get("/v1/dashboard/tracking-conversions", headers=seller.live_headers)).json()
    assert [row["converted_tracking"] for row in live["orders"]] == ["AQUAA9999999999YQ"]
