"""GET /v1/orders: filters, keyset walks that stay right while orders arrive, tokens, expand=items."""

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.kit.time import parse_iso
from orderatlas.models import Order
from orderatlas.models.base import utcnow
from tests.factories import AccountFactory, SellerAccount, insert_order, legacy_order, multi_order
from tests.orders.test_checkout import place

pytestmark = pytest.mark.asyncio


async def listing(
    client: httpx.AsyncClient, seller: SellerAccount, params: Any = None, *, live: bool = False
) -> dict[str, Any]:
    headers = seller.live_headers if live else seller.test_headers
    response = await client.get("/v1/orders", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids(page: dict[str, Any]) -> list[str]:
    return [order["id"] for order in page["orders"]]


async def walk(client: httpx.AsyncClient, seller: SellerAccount, params: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    page = await listing(client, seller, params)
    while True:
        seen += ids(page)
        if not page["next_token"]:
            return seen
        page = await listing(
            client, seller, {"next_token": page["next_token"], "limit": params.get("limit", 100)}
        )


async def test_each_filter(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    t0 = utcnow().replace(microsecond=0) - timedelta(days=1)
    a = await insert_order(sessionmaker, seller, status="shipped", created_at=t0, external_order_id="E-1")
    b = await insert_order(sessionmaker, seller, status="delivered", created_at=t0 + timedelta(hours=1))
    c = await insert_order(
        sessionmaker, seller, status="failed", platform="AmazonUK", created_at=t0 + timedelta(hours=2)
    )
    d = await insert_order(
        sessionmaker,
        seller,
        status="confirmed",
        created_at=t0 + timedelta(hours=3),
        external_order_id="E-1",
        client_metadata={"store": "north", "channel": "ebay"},
    )

    def expect(params: Any, *orders: Order) -> Any:
        return params, [str(order.id) for order in orders]

    cases = [
        expect({}, d, c, b, a),  # newest first
        expect([("status", "shipped"), ("status", "delivered")], b, a),
        expect({"status": "shipped,failed"}, c, a),
        expect({"platform": "AmazonUK"}, c),
        expect({"external_order_id": "E-1"}, d, a),
        expect({"created_after": (t0 + timedelta(hours=1)).isoformat()}, d, c, b),  # at or after
        expect({"created_before": (t0 + timedelta(hours=1)).isoformat()}, b, a),  # at or before
        expect({"created_after": t0.strftime("%Y-%m-%dT%H:%M:%SZ"), "created_before": t0.isoformat()}, a),
        expect({"metadata[store]": "north"}, d),
        expect({"metadata[store]": "north", "metadata[channel]": "ebay"}, d),
        expect({"metadata[store]": "south"}),
        expect({"status": "confirmed", "external_order_id": "E-1", "platform": "AmazonUS"}, d),
    ]
    for params, expected in cases:
        assert ids(await listing(client, seller, params)) == expected, params


async def test_orders_carry_the_detail_fields_and_items_only_when_expanded(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    order_id = await place(client, seller, multi_order(external_order_id="27-1", metadata={"k": "v"}))
    detail = (await client.get(f"/v1/order/{order_id}", headers=seller.test_headers)).json()
    plain = (await listing(client, seller))["orders"][0]
    assert "items" not in plain
    assert plain == {k: v for k, v in detail.items() if k not in ("items", "credits_remaining")}
    expanded = (await listing(client, seller, {"expand": "items"}))["orders"][0]
    assert expanded["items"] == detail["items"]
    assert [line["asin"] for line in expanded["items"]] == ["B09V3KXJPB", "B0CLWJ1423"]
    assert expanded["external_order_id"] == "27-1" and expanded["metadata"] == {"k": "v"}


async def test_a_legacy_order_expands_to_its_one_line_with_the_subtotal_cap(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    await place(client, seller, legacy_order(price_max=42.5, quantity=2))
    line = (await listing(client, seller, {"expand": "items"}))["orders"][0]["items"]
    assert line == [
        {
            "asin": "B09V3KXJPB",
            "quantity": 2,
            "price_max": 42.5,
            "price": "",
            "price_amount": 0,
            "seller": "",
            "outcome": "",
        }
    ]


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while the test runs."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield sent
    event.remove(Engine, "before_cursor_execute", record)


async def test_a_page_with_items_and_every_filter_is_one_query(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    statements: list[str],
) -> None:
    seller = await accounts.create()
    for n in range(30):
        await insert_order(
            sessionmaker,
            seller,
            external_order_id="E-9",
            client_metadata={"s": "1"},
            updated_at=utcnow() - timedelta(minutes=1),  # settled, for the updated_after filter
            items=[{"asin": "B09V3KXJPB", "quantity": 1}, {"asin": f"B0TEST{n:04d}", "quantity": 2}],
        )
    params = {
        "expand": "items",
        "status": "confirmed,shipped",
        "platform": "AmazonUS",
        "external_order_id": "E-9",
        "created_after": "2000-01-01",
        "updated_after": "2000-01-01",
        "metadata[s]": "1",
        "limit": 20,
    }
    statements.clear()
    first = await listing(client, seller, params)
    on_orders = [s for s in statements if "order_items" in s or "FROM orders" in s]
    assert len(on_orders) == 1, on_orders
    assert len(first["orders"]) == 20 and all(len(o["items"]) == 2 for o in first["orders"])

    statements.clear()
    second = await listing(client, seller, {"next_token": first["next_token"], "expand": "items"})
    assert len([s for s in statements if "order_items" in s or "FROM orders" in s]) == 1
    assert len(second["orders"]) == 10 and second["next_token"] == ""


async def test_a_newest_first_walk_is_exact_while_orders_arrive(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    start = utcnow() - timedelta(hours=1)
    for n in range(25):
        await insert_order(sessionmaker, seller, created_at=start + timedelta(seconds=n))
    await insert_order(sessionmaker, seller, created_at=start + timedelta(seconds=7))  # a tie on created_at
    expected = ids(await listing(client, seller, {"limit": 100}))
    assert len(expected) == 26

    seen: list[str] = []
    page = await listing(client, seller, {"limit": 7})
    while True:
        seen += ids(page)
        for _ in range(3):  # new orders keep coming while the client walks
            await place(client, seller, legacy_order())
        if not page["next_token"]:
            break
        page = await listing(client, seller, {"next_token": page["next_token"], "limit": 7})
    assert seen == expected  # every order that was there, once, in order; none of the new ones
    assert len(set(seen)) == len(seen)


async def _changed(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> None:
    """What a checkout or a tracking update does to a row: a new status, a new updated_at."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Order).where(Order.id == order_id).values(status="shipped", updated_at=utcnow())
        )


async def _until_window_passes(
    client: httpx.AsyncClient, seller: SellerAccount, after: str, moment: datetime
) -> dict[str, Any]:
    """The next sync window, once it ends after `moment` (windows end on whole seconds)."""
    deadline = time.monotonic() + 10
    while True:
        page = await listing(client, seller, {"updated_after": after, "limit": 100})
        end = parse_iso(page["updated_before"])
        if end is not None and end > moment:
            return page
        assert time.monotonic() < deadline, "the sync window never moved past the changes"
        await asyncio.sleep(0.05)


async def test_a_sync_walk_is_exact_while_orders_arrive_and_change(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    settings.orders_sync_settle_s = 0
    seller = await accounts.create()
    since = utcnow() - timedelta(hours=2)
    existing = [
        await insert_order(sessionmaker, seller, updated_at=since + timedelta(minutes=n)) for n in range(20)
    ]
    after = since.isoformat()

    seen: list[str] = []
    page = await listing(client, seller, {"updated_after": after, "limit": 6})
    window_end = page["updated_before"]
    assert window_end.endswith("Z") and parse_iso(window_end) is not None
    changed = page["orders"][0]["id"]
    await _changed(sessionmaker, changed)  # an order this walk already returned changes meanwhile
    new_ids: list[str] = []
    while True:
        seen += ids(page)
        new_ids.append(await place(client, seller, legacy_order()))  # arrives during the walk
        if not page["next_token"]:
            break
        page = await listing(client, seller, {"next_token": page["next_token"], "limit": 6})
        assert page["updated_before"] == window_end  # one window for the whole walk
    assert seen == [str(order.id) for order in existing]  # oldest change first, each once

    following = await _until_window_passes(client, seller, window_end, utcnow())
    assert sorted(ids(following)) == sorted([changed, *new_ids])  # nothing lost between windows
    assert next(o for o in following["orders"] if o["id"] == changed)["status"] == "shipped"


async def test_a_sync_window_ends_settle_seconds_ago_on_a_whole_second(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    settings.orders_sync_settle_s = 3600
    seller = await accounts.create()
    old = await insert_order(sessionmaker, seller, updated_at=utcnow() - timedelta(hours=2))
    await insert_order(sessionmaker, seller)  # changed just now: not settled for an hour
    page = await listing(client, seller, {"updated_after": "2000-01-01T00:00:00Z"})
    assert ids(page) == [str(old.id)]
    end = parse_iso(page["updated_before"])
    assert end is not None and end.microsecond == 0
    assert timedelta(minutes=59) < utcnow() - end <= timedelta(minutes=60, seconds=1)
    future = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    ahead = await listing(client, seller, {"updated_after": future.isoformat()})
    assert ahead["orders"] == [] and parse_iso(ahead["updated_before"]) == future.astimezone(UTC)
    assert (await listing(client, seller))["updated_before"] == ""


async def test_the_token_carries_the_filters_and_refuses_others(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    for _ in range(3):
        await insert_order(sessionmaker, seller, status="shipped")
    await insert_order(sessionmaker, seller, status="failed")
    first = await listing(client, seller, {"status": "shipped", "limit": 2})
    token = first["next_token"]
    alone = await listing(client, seller, {"next_token": token, "limit": 2})
    again = await listing(client, seller, {"next_token": token, "status": "shipped", "limit": 2})
    assert alone == again and len(alone["orders"]) == 1 and alone["next_token"] == ""
    other = await client.get(
        "/v1/orders", params={"next_token": token, "status": "failed"}, headers=seller.test_headers
    )
    assert other.status_code == 400 and other.json()["code"] == "invalid_next_token"


def _tampered(token: str) -> list[str]:
    body, mac = token.split(".")
    flip = {"A": "B", "B": "A"}
    return [
        f"{body[:-3]}{flip.get(body[-3], 'A')}{body[-2:]}.{mac}",  # the payload edited
        f"{body}.{mac[:-2]}{flip.get(mac[-2], 'A')}{mac[-1]}",  # the signature edited
        f"{body}.",
        "not-a-token",
        "e30.e30",  # {} signed with nothing
    ]


async def test_a_tampered_or_foreign_token_is_a_400(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller, other = await accounts.create(), await accounts.create()
    for _ in range(3):
        await insert_order(sessionmaker, seller)
        await insert_order(sessionmaker, seller, test_mode=False)
    token = (await listing(client, seller, {"limit": 1}))["next_token"]
    attempts = [(bad, seller.test_headers) for bad in _tampered(token)]
    attempts += [(token, other.test_headers), (token, seller.live_headers)]  # another account, another mode
    for bad, headers in attempts:
        response = await client.get("/v1/orders", params={"next_token": bad}, headers=headers)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["code"] == "invalid_next_token"


async def test_only_the_callers_account_and_key_mode(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller, other = await accounts.create(), await accounts.create()
    mine = await insert_order(sessionmaker, seller)
    live = await insert_order(sessionmaker, seller, test_mode=False)
    await insert_order(sessionmaker, other)
    assert ids(await listing(client, seller)) == [str(mine.id)]
    assert ids(await listing(client, seller, live=True)) == [str(live.id)]


async def test_limit_is_at_most_100(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create()
    for _ in range(101):
        await insert_order(sessionmaker, seller)
    default = await listing(client, seller)
    assert len(default["orders"]) == 100 and default["next_token"]
    assert len((await listing(client, seller, {"limit": 100}))["orders"]) == 100
    response = await client.get("/v1/orders?limit=101", headers=seller.test_headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"status": "shipping"}, "invalid_status"),
        ({"platform": "AmazonXX"}, "invalid_platform"),
        ({"created_after": "yesterday"}, "invalid_datetime"),
        ({"updated_after": "2026-13-01"}, "invalid_datetime"),
        ({"created_after": "2026-02-01", "created_before": "2026-01-01"}, "invalid_datetime"),
        ({"expand": "lines"}, "invalid_expand"),
        ({"metadata[]": "x"}, "invalid_metadata"),
        ({"metadata[k]": "a\u0000b"}, "invalid_text"),
        ({"external_order_id": "x" * 101}, "invalid_external_order_id"),
        ({"limit": 0}, "invalid_request"),
    ],
)
async def test_bad_parameters_are_400(
    client: httpx.AsyncClient, accounts: AccountFactory, params: dict[str, Any], code: str
) -> None:
    seller = await accounts.create()
    response = await client.get("/v1/orders", params=params, headers=seller.test_headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code


async def test_an_order_is_found_by_its_external_id(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    wanted = await place(client, seller, legacy_order(external_order_id="27-55555-66666"))
    await place(client, seller, legacy_order(external_order_id="27-55555-77777"))
    assert ids(await listing(client, seller, {"external_order_id": "27-55555-66666"})) == [wanted]


async def test_a_change_committed_after_the_window_was_handed_out_is_in_the_next_one(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """A writer's flush sets updated_at; its commit makes it visible, maybe seconds later (a lock
    wait, a loaded machine). A window handed out meanwhile must end before that write, or the
    change falls behind it and no later window ever returns it."""
    settings.orders_sync_settle_s = 0  # so that only the open transaction can hold the window back
    seller = await accounts.create()
    order = await insert_order(sessionmaker, seller, updated_at=utcnow() - timedelta(hours=1))
    after = (utcnow() - timedelta(minutes=30)).isoformat()
    async with sessionmaker() as writer, writer.begin():
        # As the worker does: lock the row, change it, flush; the commit comes later.
        await writer.execute(select(Order.id).where(Order.id == order.id).with_for_update())
        written_at = utcnow()
        await writer.execute(
            update(Order).where(Order.id == order.id).values(status="shipped", updated_at=written_at)
        )
        deadline = time.monotonic() + 5
        while utcnow().replace(microsecond=0) <= written_at:  # windows end on whole seconds
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        during = await listing(client, seller, {"updated_after": after})
    assert ids(during) == []  # not committed yet, so not visible
    following = await listing(client, seller, {"updated_after": during["updated_before"]})
    assert ids(following) == [str(order.id)]
    assert following["orders"][0]["status"] == "shipped"


async def test_created_before_includes_the_second_the_api_shows(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Orders are written with microseconds and shown to the second: a client that passes an
    order's created_at back as created_before ("at or before") must get that order."""
    seller = await accounts.create()
    second = utcnow().replace(microsecond=0) - timedelta(hours=1)
    order = await insert_order(sessionmaker, seller, created_at=second + timedelta(microseconds=500_000))
    shown = (await listing(client, seller))["orders"][0]["created_at"]
    assert parse_iso(shown) == second
    assert ids(await listing(client, seller, {"created_before": shown})) == [str(order.id)]
    assert ids(await listing(client, seller, {"created_after": shown, "created_before": shown})) == [
        str(order.id)
    ]
    earlier = (second + timedelta(microseconds=400_000)).isoformat()  # a bound with a fraction is exact
    assert ids(await listing(client, seller, {"created_before": earlier})) == []
