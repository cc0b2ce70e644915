"""GET /v1/dashboard/orders: search over five fields, exact status, total under the filters, bounds."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.dashboard import repository
from orderatlas.models import Order
from orderatlas.models.base import utcnow
from tests.factories import AccountFactory, SellerAccount, insert_order

pytestmark = pytest.mark.asyncio

ROW_FIELDS = {
    "id",
    "platform_order_id",
    "platform",
    "status",
    "total",
    "tracking_number",
    "created_at",
    "external_order_id",
}


async def search(
    client: httpx.AsyncClient, seller: SellerAccount, query: str = "", *, live: bool = False
) -> dict[str, Any]:
    headers = seller.live_headers if live else seller.test_headers
    response = await client.get(f"/v1/dashboard/orders{query}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids(listing: dict[str, Any]) -> list[str]:
    return [row["id"] for row in listing["orders"]]


async def test_each_field_is_searched_case_insensitively(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    await insert_order(sessionmaker, seller)  # matches none of the terms below
    by_field = {
        "platform_order_id": await insert_order(
            sessionmaker, seller, platform_order_id="114-7654321-1111111"
        ),
        "external_order_id": await insert_order(sessionmaker, seller, external_order_id="27-13579-24680"),
        "product_title": await insert_order(sessionmaker, seller, product_title="Cordless Drill Kit"),
        "asin": await insert_order(sessionmaker, seller, asin="B0ZEBRA123"),
        "account_email": await insert_order(sessionmaker, seller, account_email="Wholesale.Buyer@shop.test"),
    }
    terms = {
        "platform_order_id": "7654321-11",
        "external_order_id": "13579-2",
        "product_title": "dRILL k",
        "asin": "zebra",
        "account_email": "WHOLESALE.buyer",
    }
    for field, term in terms.items():
        found = await client.get("/v1/dashboard/orders", params={"search": term}, headers=seller.test_headers)
        assert ids(found.json()) == [str(by_field[field].id)], field
        assert found.json()["total"] == 1


async def test_percent_underscore_and_backslash_match_themselves(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    titles = ["100% cotton", "plain 100 cotton", "50_50 blend", "50x50 blend", "back\\slash", "backslash"]
    made = {title: await insert_order(sessionmaker, seller, product_title=title) for title in titles}
    expected = {
        "100%": ["100% cotton"],
        "0_5": ["50_50 blend"],
        "k\\s": ["back\\slash"],
        "%": ["100% cotton"],
    }
    expected |= {"_": ["50_50 blend"], "\\": ["back\\slash"], "%cotton": []}
    for term, matching in expected.items():
        found = await client.get("/v1/dashboard/orders", params={"search": term}, headers=seller.test_headers)
        assert found.status_code == 200, found.text
        assert sorted(ids(found.json())) == sorted(str(made[t].id) for t in matching), term
        assert found.json()["total"] == len(matching)


async def test_a_match_never_spans_two_fields(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    await insert_order(sessionmaker, seller, asin="B0ABCDEFGH", account_email="xyzbuyer@example.com")
    for term in ("GHxyz", "GH xyz", "GH\x1fxyz", "efgh\x1fxyzb"):
        found = await client.get("/v1/dashboard/orders", params={"search": term}, headers=seller.test_headers)
        assert found.json() == {"orders": [], "total": 0}, term
    assert (await search(client, seller, "?search=efgh"))["total"] == 1


async def test_short_terms_without_a_trigram_still_match(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    hit = await insert_order(sessionmaker, seller, external_order_id="XQ-1")
    await insert_order(sessionmaker, seller, external_order_id="AB-2")
    assert ids(await search(client, seller, "?search=xq")) == [str(hit.id)]
    assert ids(await search(client, seller, "?search=q-1")) == [str(hit.id)]


async def test_status_is_exact_and_total_counts_under_the_filters(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    for n in range(25):
        await insert_order(sessionmaker, seller, product_title=f"Widget {n}", status="confirmed")
    for n in range(6):
        await insert_order(sessionmaker, seller, product_title=f"Gadget {n}", status="failed")
    await insert_order(sessionmaker, seller, product_title="Widget failed", status="failed")

    everything = await search(client, seller)
    assert (len(everything["orders"]), everything["total"]) == (20, 32)  # default limit 20
    assert (await search(client, seller, "?status=failed"))["total"] == 7
    widgets = await search(client, seller, "?search=widget")
    assert (len(widgets["orders"]), widgets["total"]) == (20, 26)
    both = await search(client, seller, "?search=widget&status=failed")
    assert (len(both["orders"]), both["total"]) == (1, 1)
    assert (await search(client, seller, "?search=gadget&status=confirmed")) == {"orders": [], "total": 0}


async def test_rows_are_newest_first_in_the_reference_shape(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    now = utcnow()
    older = await insert_order(sessionmaker, seller, created_at=now - timedelta(hours=2))
    newer = await insert_order(
        sessionmaker,
        seller,
        created_at=now - timedelta(hours=1),
        platform_order_id="112-4567890-1234567",
        total=Decimal("29.99"),
        tracking_number="1Z999AA10123456784",
        external_order_id="27-00000-11111",
        status="delivered",
    )
    rows = (await search(client, seller))["orders"]
    assert [row["id"] for row in rows] == [str(newer.id), str(older.id)]
    assert set(rows[0]) == ROW_FIELDS
    assert rows[0] | {"id": "", "created_at": ""} == {
        "id": "",
        "platform_order_id": "112-4567890-1234567",
        "platform": "AmazonUS",
        "status": "delivered",
        "total": "$29.99",
        "tracking_number": "1Z999AA10123456784",
        "created_at": "",
        "external_order_id": "27-00000-11111",
    }
    assert rows[0]["created_at"].endswith("Z")
    assert rows[1]["total"] == rows[1]["tracking_number"] == rows[1]["external_order_id"] == ""


async def test_limit_up_to_200_and_offset_pages(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    made = [
        await insert_order(sessionmaker, seller, created_at=utcnow() - timedelta(minutes=n))
        for n in range(25)
    ]
    newest_first = [str(order.id) for order in made]
    assert ids(await search(client, seller, "?limit=200")) == newest_first
    assert ids(await search(client, seller, "?limit=10&offset=20")) == newest_first[20:]
    beyond = await search(client, seller, "?limit=10&offset=40")
    assert beyond == {"orders": [], "total": 25}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?limit=201", "invalid_request"),
        ("?limit=0", "invalid_request"),
        ("?offset=-1", "invalid_request"),
        ("?status=shipping", "invalid_status"),
        ("?search=a%00b", "invalid_text"),
        ("?search=" + "x" * 201, "invalid_request"),
    ],
)
async def test_bad_parameters_are_400(
    client: httpx.AsyncClient, accounts: AccountFactory, query: str, code: str
) -> None:
    seller = await accounts.create()
    response = await client.get(f"/v1/dashboard/orders{query}", headers=seller.test_headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code


async def test_only_the_callers_account_and_key_mode(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller, other = await accounts.create(), await accounts.create()
    test_order = await insert_order(sessionmaker, seller, product_title="Shared Title")
    live_order = await insert_order(sessionmaker, seller, product_title="Shared Title", test_mode=False)
    await insert_order(sessionmaker, other, product_title="Shared Title")
    assert ids(await search(client, seller, "?search=shared")) == [str(test_order.id)]
    assert ids(await search(client, seller, "?search=shared", live=True)) == [str(live_order.id)]
    assert (await search(client, seller, "", live=True))["total"] == 1


async def test_the_search_expression_is_the_indexed_one(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The query must repeat the index's expression exactly, or the index is never used: with
    sequential scans off, a match on the expression alone must be planned on ix_orders_search_trgm."""
    pattern = repository.contains_pattern("4567890")
    stmt = (
        select(func.count())
        .select_from(Order)
        .where(repository.SEARCH_DOCUMENT.ilike(pattern, escape=repository.LIKE_ESCAPE))
    )
    async with sessionmaker() as session, session.begin():
        compiled = stmt.compile(dialect=session.get_bind().dialect)
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        plan = "\n".join(
            row[0] for row in await (await raw.execute(f"EXPLAIN {compiled}", compiled.params)).fetchall()
        )
    assert "ix_orders_search_trgm" in plan, plan
