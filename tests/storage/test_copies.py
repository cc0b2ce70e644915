"""Invoice and order-page copies: kept by the service, served at signed links that expire."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from orderatlas.config import Settings
from orderatlas.db import async_url, create_sessionmaker, unit_of_work
from orderatlas.models import StoredCopy
from orderatlas.models.base import utcnow
from orderatlas.orders import lifecycle, refresh, repository
from orderatlas.orders import statuses as st
from orderatlas.retailers.base import Tracking
from orderatlas.storage.postgres import PostgresCopyStore
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order
from tests.orders.test_checkout import checkout, order


@pytest.fixture(autouse=True)
def _slow_sandbox(settings: Settings) -> None:
    settings.sandbox_ship_after_s = 3600


async def shipped(
    client: httpx.AsyncClient, worker: WorkerRunner, seller: SellerAccount
) -> dict[str, object]:
    order_id = (await checkout(client, worker, seller, legacy_order()))["id"]
    response = await client.post(f"/v1/sandbox/orders/{order_id}/advance", headers=seller.test_headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def path(link: object) -> str:
    return urlsplit(str(link)).path


async def expiry(sessionmaker: async_sessionmaker[AsyncSession], link: object) -> timedelta:
    kind, file = path(link).split("/")[2:4]
    key = f"{kind}/{file.split('.')[0]}"
    async with sessionmaker() as session:
        expires_at = await session.scalar(select(StoredCopy.expires_at).where(StoredCopy.key == key))
    assert expires_at is not None
    return expires_at - utcnow()


async def test_the_copies_are_served_without_an_api_key_as_inert_html(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    assert str(detail["invoice_link"]).startswith("http://orderatlas.test/copies/invoices/")
    assert str(detail["order_html_url"]).startswith("http://orderatlas.test/copies/tracking/")
    assert detail["invoice_fetched_at"] and detail["order_html_updated_at"]
    for link in (detail["invoice_link"], detail["order_html_url"]):
        response = await client.get(path(link))  # no X-API-Key
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["content-security-policy"].startswith("sandbox")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert str(detail["platform_order_id"]) in response.text
    page = await client.get(path(detail["order_html_url"]))
    assert "shipped" in page.text and str(detail["tracking_number"]) in page.text
    invoice = await client.get(path(detail["invoice_link"]))
    assert "$14.85" not in invoice.text and "$19.99" in invoice.text  # B09V3KXJPB's price


async def test_the_order_list_carries_the_same_links(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    [listed] = (await client.get("/v1/orders", headers=seller.test_headers)).json()["orders"]
    assert (listed["invoice_link"], listed["order_html_url"]) == (
        detail["invoice_link"],
        detail["order_html_url"],
    )
    assert listed["delivery_photo_url"] == ""


async def test_links_are_built_on_the_public_url(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, settings: Settings
) -> None:
    settings.public_url = "https://api.example.com/base"
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    assert str(detail["invoice_link"]).startswith("https://api.example.com/base/copies/invoices/")


async def test_the_order_page_link_stays_the_same_while_its_copy_is_refreshed(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    first = await shipped(client, worker, seller)
    second = (
        await client.post(f"/v1/sandbox/orders/{first['id']}/advance", headers=seller.test_headers)
    ).json()
    assert second["order_html_url"] == first["order_html_url"]
    assert second["invoice_link"] == first["invoice_link"]
    assert "out_for_delivery" in (await client.get(path(second["order_html_url"]))).text


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p[:-6] + ("0" if p[-6] != "0" else "1") + p[-5:],  # the signature
        lambda p: p.replace("/copies/tracking/", "/copies/tracking/0", 1)[:-1],  # the token
        lambda p: p.replace("/tracking/", "/invoices/"),  # the kind
        lambda p: p.replace(".html", ".htm"),
        lambda p: p.rsplit(".", 2)[0] + ".html",  # no signature
    ],
)
async def test_a_tampered_link_is_404(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, tamper: object
) -> None:
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    good = path(detail["order_html_url"])
    bad = tamper(good)  # type: ignore[operator]
    assert bad != good
    response = await client.get(bad)
    assert response.status_code == 404
    assert response.json() == {"error": "no such copy, or it has expired", "code": "not_found"}


async def test_another_secret_key_signs_other_links(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, settings: Settings
) -> None:
    seller = await accounts.create()
    link = path((await shipped(client, worker, seller))["order_html_url"])
    settings.secret_key = "A" * 43 + "="
    assert (await client.get(link)).status_code == 404


async def test_invoices_expire_after_14_days_and_order_pages_7_days_after_delivery(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    assert (
        timedelta(days=13, hours=23)
        < await expiry(sessionmaker, detail["invoice_link"])
        <= timedelta(days=14)
    )
    assert await expiry(sessionmaker, detail["order_html_url"]) > timedelta(days=29)  # still followed
    delivered = await client.post(f"/v1/order/{detail['id']}/delivered", headers=seller.test_headers)
    assert delivered.status_code == 200
    kept = await expiry(sessionmaker, detail["order_html_url"])
    assert timedelta(days=6, hours=23) < kept <= timedelta(days=7)

    async with sessionmaker() as session, session.begin():  # as if the 7 days had passed
        await session.execute(update(StoredCopy).values(expires_at=utcnow() - timedelta(seconds=1)))
    for link in (detail["order_html_url"], detail["invoice_link"]):
        response = await client.get(path(link))
        assert response.status_code == 404
    assert (await order(client, seller, str(detail["id"])))["total_amount"] == 19.99  # the amounts stay
    async with sessionmaker() as session, session.begin():
        assert await PostgresCopyStore().purge_expired(session, utcnow()) == 2


async def test_deleting_the_order_deletes_its_copies(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    assert (await client.delete(f"/v1/order/{detail['id']}", headers=seller.test_headers)).status_code == 200
    assert (await client.get(path(detail["invoice_link"]))).status_code == 404
    async with sessionmaker() as session:
        assert (await session.scalars(select(StoredCopy.key))).all() == []


async def test_the_store_purges_only_what_expired(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    store, now = PostgresCopyStore(), utcnow()
    fresh = "tracking/" + uuid.uuid4().hex
    async with sessionmaker() as db, db.begin():
        await store.put(db, "tracking/" + uuid.uuid4().hex, b"old", "text/html", now - timedelta(seconds=1))
        await store.put(db, fresh, b"new", "text/html", now + timedelta(days=1))
        await store.put(db, fresh, b"newer", "text/html", now + timedelta(days=2))  # overwritten in place
    async with sessionmaker() as db, db.begin():
        assert await store.purge_expired(db, now) == 1
        copy = await store.get(db, fresh, now)
        assert copy is not None and copy.content == b"newer"
        assert await store.get(db, fresh, now + timedelta(days=3)) is None


async def test_a_move_that_rolls_back_leaves_the_copy_as_it_was(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    followed = await expiry(sessionmaker, detail["order_html_url"])
    async with sessionmaker() as session:
        locked = await repository.lock(session, uuid.UUID(str(detail["id"])))
        assert locked is not None
        await lifecycle.move(session, locked, st.DELIVERED, now=utcnow(), copies=PostgresCopyStore())
        await session.rollback()  # the delivery never happened: the page is still kept as followed
    assert followed - await expiry(sessionmaker, detail["order_html_url"]) < timedelta(minutes=1)


async def test_recording_a_lookup_with_copies_needs_one_connection(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    settings: Settings,
    redis: ArqRedis,
) -> None:
    """The copies are written on the caller's connection: a caller holding the order's lock never
    waits for a second one (a full pool of such callers would wait for each other)."""
    seller = await accounts.create()
    detail = await shipped(client, worker, seller)
    engine = create_async_engine(
        async_url(settings.database_url or ""), pool_size=1, max_overflow=0, pool_timeout=2
    )
    one = create_sessionmaker(engine)
    page = Tracking(status=st.DELIVERED, invoice_html="<p>invoice</p>", order_html="<p>delivered</p>")
    try:
        async with unit_of_work(one, redis) as session:
            locked = await repository.lock(session, uuid.UUID(str(detail["id"])))
            assert locked is not None
            assert await refresh.observe(session, locked, page, now=utcnow(), copies=PostgresCopyStore())
    finally:
        await engine.dispose()
    response = await client.get(path(detail["order_html_url"]))
    assert response.status_code == 200 and "<p>delivered</p>" in response.text
