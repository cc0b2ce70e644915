"""The checkout worker end to end: POST, run the real arq worker, GET the final order."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import CreditTransaction, OrderEvent, SandboxPurchase
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order, multi_order

pytestmark = pytest.mark.asyncio


async def place(client: httpx.AsyncClient, seller: SellerAccount, body: dict[str, Any]) -> str:
    response = await client.post("/v1/order", json=body, headers=seller.test_headers)
    assert response.status_code == 200, response.text
    return str(response.json()["order_id"])


async def order(client: httpx.AsyncClient, seller: SellerAccount, order_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/order/{order_id}", headers=seller.test_headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def checkout(
    client: httpx.AsyncClient, worker: WorkerRunner, seller: SellerAccount, body: dict[str, Any]
) -> dict[str, Any]:
    order_id = await place(client, seller, body)
    assert await worker.run() == 1
    return await order(client, seller, order_id)


async def purchases(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).where(SandboxPurchase.order_reference == order_id)
        return int(await session.scalar(stmt) or 0)


async def ledger(sessionmaker: async_sessionmaker[AsyncSession], order_id: str) -> list[tuple[str, int]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(CreditTransaction.type, CreditTransaction.amount)
            .where(CreditTransaction.order_id == uuid.UUID(order_id))
            .order_by(CreditTransaction.created_at)
        )
        return [(r.type, r.amount) for r in rows]


async def statuses(
    sessionmaker: async_sessionmaker[AsyncSession], order_id: str
) -> list[tuple[str | None, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(OrderEvent.previous_status, OrderEvent.status)
            .where(OrderEvent.order_id == uuid.UUID(order_id))
            .order_by(OrderEvent.id)
        )
        return [(r.previous_status, r.status) for r in rows]


async def test_legacy_order_is_confirmed_with_a_3_7_7_order_id(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    detail = await checkout(client, worker, seller, legacy_order(product_id="B0TEST1485", quantity=2))
    assert detail["status"] == "confirmed"
    assert detail["platform_order_id"][:1] == "1"
    assert [len(part) for part in detail["platform_order_id"].split("-")] == [3, 7, 7]
    assert detail["price"] == "$29.70"
    assert detail["price_amount"] == 29.70
    assert detail["total_amount"] == 29.70
    assert detail["logged_in"] is True
    assert detail["failure_reason_code"] == ""
    assert detail["product_title"]
    assert detail["items"][0]["outcome"] == "placed"
    assert detail["items"][0]["price"] == "$14.85"
    assert detail["credits_remaining"] == 8
    assert await purchases(sessionmaker, detail["id"]) == 1
    assert await statuses(sessionmaker, detail["id"]) == [
        (None, "pending"),
        ("pending", "processing"),
        ("processing", "confirmed"),
    ]


async def test_order_is_readable_by_its_platform_order_id(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await checkout(client, worker, seller, legacy_order())
    by_platform_id = await order(client, seller, detail["platform_order_id"])
    assert by_platform_id["id"] == detail["id"]


async def test_multi_item_order_places_every_line(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await checkout(client, worker, seller, multi_order())
    assert detail["status"] == "confirmed"
    assert [(i["asin"], i["outcome"], i["price_amount"]) for i in detail["items"]] == [
        ("B09V3KXJPB", "placed", 19.99),
        ("B0CLWJ1423", "placed", 14.23),
    ]
    assert detail["price_amount"] == round(19.99 + 2 * 14.23, 2)


@pytest.mark.parametrize(
    ("platform", "price"),
    [("AmazonUK", "£14.85"), ("AmazonDE", "14,85\xa0€"), ("AmazonCA", "$14.85"), ("AmazonIN", "₹14.85")],
)
async def test_prices_render_in_the_marketplace_locale(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, platform: str, price: str
) -> None:
    seller = await accounts.create()
    detail = await checkout(client, worker, seller, legacy_order(platform=platform, product_id="B0TEST1485"))
    assert detail["price"] == price
    assert detail["price_amount"] == 14.85


@pytest.mark.parametrize("status", ["purchased", "warning", "awaiting_approval", "payment_revision"])
async def test_status_tags_end_in_that_status_without_refund(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    status: str,
) -> None:
    seller = await accounts.create(test_credits=10)
    detail = await checkout(client, worker, seller, legacy_order(account_email=f"buyer+{status}@example.com"))
    assert detail["status"] == status
    assert detail["failure_reason_code"] == ""
    assert detail["credits_remaining"] == 8
    assert (detail["platform_order_id"] == "") == (status == "warning")
    assert await ledger(sessionmaker, detail["id"]) == [("order_debit", -2)]


TERMINAL_CODES = [
    "LOGIN_FAILED",
    "DIGITAL_PRODUCT_UNSUPPORTED",
    "ASIN_SWAPPED",
    "CHECKOUT_RPC_ERROR",
    "STALE_PLATFORM_ORDER_ID",
    "GATEWAY_RESTART_INTERRUPTED",
    "ADDRESS_RATE_LIMITED",
    "CHECKOUT_BLOCKED",
    "ADDRESS_VALIDATION_FAILED",
    "PAYMENT_METHOD_BINDING_FAILED",
    "ORDER_NOT_PLACED",
    "ACCOUNT_SOFTBLOCK",
]


@pytest.mark.parametrize("code", TERMINAL_CODES)
async def test_terminal_codes_fail_once_and_refund(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    code: str,
) -> None:
    seller = await accounts.create(test_credits=10)
    detail = await checkout(
        client, worker, seller, legacy_order(account_email=f"buyer+{code.lower()}@example.com")
    )
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == code
    assert code in detail["notes"][-1]
    assert detail["credits_remaining"] == 10
    assert await ledger(sessionmaker, detail["id"]) == [("order_debit", -2), ("order_refund", 2)]
    assert await purchases(sessionmaker, detail["id"]) == 0


async def test_terminal_codes_are_never_retried(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await checkout(
        client, worker, seller, legacy_order(account_email="buyer+checkout_blocked_once@x.io")
    )
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == "CHECKOUT_BLOCKED"
    assert len(detail["notes"]) == 1


async def test_login_failure_leaves_logged_in_false(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    login = await checkout(
        client, worker, seller, legacy_order(account_email="buyer+login_failed@example.com")
    )
    assert login["logged_in"] is False
    place = await checkout(
        client, worker, seller, legacy_order(account_email="buyer+checkout_blocked@example.com")
    )
    assert place["logged_in"] is True


FRESH_SESSION_CODES = [
    "SESSION_FLAGGED_AT_PLACE",
    "SESSION_FLAGGED_NO_CSRF",
    "OOS_AFTER_RETRIES",
    "ATC_OOS_AFTER_RETRIES",
    "BOT_CHALLENGE_RX_SHELL",
]


@pytest.mark.parametrize("code", FRESH_SESSION_CODES)
async def test_session_flags_retry_once_then_softblock(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    code: str,
) -> None:
    seller = await accounts.create(test_credits=10)
    detail = await checkout(
        client, worker, seller, legacy_order(account_email=f"buyer+{code.lower()}@example.com")
    )
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == "ACCOUNT_SOFTBLOCK"
    assert any("fresh login" in note for note in detail["notes"])
    assert detail["credits_remaining"] == 10
    assert await ledger(sessionmaker, detail["id"]) == [("order_debit", -2), ("order_refund", 2)]
    assert await purchases(sessionmaker, detail["id"]) == 0


@pytest.mark.parametrize("code", FRESH_SESSION_CODES)
async def test_session_flag_once_succeeds_on_the_fresh_session(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    code: str,
) -> None:
    seller = await accounts.create(test_credits=10)
    email = f"buyer+{code.lower()}_once@example.com"
    detail = await checkout(client, worker, seller, legacy_order(account_email=email))
    assert detail["status"] == "confirmed"
    assert detail["failure_reason_code"] == ""
    assert code in detail["notes"][0]
    assert detail["credits_remaining"] == 8
    assert await purchases(sessionmaker, detail["id"]) == 1


async def test_shipping_restricted_rotates_to_the_cheapest_alternative(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    body = legacy_order(account_email="buyer+shipping_restricted_once@example.com", product_id="B0TEST1000")
    detail = await checkout(client, worker, seller, body)
    assert detail["status"] == "confirmed"
    assert detail["items"][0]["seller"] == "Sandbox Outlet"
    assert detail["price"] == "$10.50"
    assert "Sandbox Outlet" in detail["notes"][-1]
    assert "$10.50" in detail["notes"][-1]
    assert "Amazon" in detail["notes"][-1]
    assert await purchases(sessionmaker, detail["id"]) == 1


async def test_shipping_restricted_rotation_tries_three_offers_then_fails(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    body = legacy_order(account_email="buyer+shipping_restricted@example.com", product_id="B0TEST1000")
    order_id = await place(client, seller, body)
    await worker.run()
    detail = await order(client, seller, order_id)
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == "SHIPPING_RESTRICTED"
    assert "rotating through 3" in " ".join(detail["notes"])
    assert detail["credits_remaining"] == 10
    assert await purchases(sessionmaker, order_id) == 0


async def test_rotation_only_considers_offers_within_price_max(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    body = legacy_order(
        account_email="buyer+shipping_restricted_once@example.com", product_id="B0TEST1000", price_max=10.00
    )
    detail = await checkout(client, worker, seller, body)
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == "SHIPPING_RESTRICTED"
    assert "no alternative offer within price_max" in detail["notes"][-1]


async def test_shipping_restricted_without_price_max_does_not_rotate(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create()
    body = legacy_order(account_email="buyer+shipping_restricted_once@example.com", price_max=0)
    detail = await checkout(client, worker, seller, body)
    assert detail["status"] == "failed"
    assert detail["failure_reason_code"] == "SHIPPING_RESTRICTED"
    assert "no offer rotation" in detail["notes"][-1]
    assert await purchases(sessionmaker, detail["id"]) == 0


async def test_legacy_price_guard_compares_the_subtotal(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    body = legacy_order(product_id="B0TEST2000", quantity=3, price_max=59.99)
    detail = await checkout(client, worker, seller, body)
    assert detail["status"] == "PRICE_EXCEEDED"
    assert detail["failure_reason_code"] == "PRICE_EXCEEDED"
    assert "$60.00" in detail["notes"][-1]
    assert detail["items"][0]["outcome"] == "price_exceeded"
    assert detail["credits_remaining"] == 10
    assert await ledger(sessionmaker, detail["id"]) == [("order_debit", -2), ("order_refund", 2)]
    assert await purchases(sessionmaker, detail["id"]) == 0


async def test_legacy_price_guard_allows_a_subtotal_at_the_cap(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await checkout(
        client, worker, seller, legacy_order(product_id="B0TEST2000", quantity=3, price_max=60)
    )
    assert detail["status"] == "confirmed"


async def test_multi_item_guard_checks_each_unit_price_and_places_nothing(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    body = multi_order(
        items=[
            {"asin": "B0TEST1000", "quantity": 5, "price_max": 10.00},  # 10.00 a unit: at the cap
            {"asin": "B0TEST2500", "quantity": 1, "price_max": 20.00},  # 25.00 a unit: over
        ]
    )
    detail = await checkout(client, worker, seller, body)
    assert detail["status"] == "PRICE_EXCEEDED"
    assert [i["outcome"] for i in detail["items"]] == ["", "price_exceeded"]
    assert detail["credits_remaining"] == 10
    assert await purchases(sessionmaker, detail["id"]) == 0


async def test_asin_swapped_marks_the_line(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await checkout(
        client, worker, seller, multi_order(account_email="buyer+asin_swapped@example.com")
    )
    assert detail["failure_reason_code"] == "ASIN_SWAPPED"
    assert detail["items"][0]["outcome"] == "asin_swapped"


async def test_price_exceeded_tag_ends_in_the_price_exceeded_status(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=10)
    detail = await checkout(
        client, worker, seller, legacy_order(account_email="buyer+price_exceeded@example.com")
    )
    assert detail["status"] == "PRICE_EXCEEDED"
    assert detail["failure_reason_code"] == "PRICE_EXCEEDED"
    assert detail["credits_remaining"] == 10


async def test_a_finished_job_run_again_changes_nothing(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Any,
) -> None:
    from orderatlas.orders.tasks import checkout_order
    from orderatlas.worker import _startup

    seller = await accounts.create(test_credits=10)
    order_id = await place(client, seller, legacy_order(account_email="buyer+checkout_blocked@example.com"))
    sealed = await _sealed_payload_of_queued_job(worker)
    await worker.run()
    ctx: dict[str, Any] = {"settings": settings, "redis": None}
    await _startup(ctx)
    try:
        await checkout_order(ctx, order_id, sealed)
    finally:
        await ctx["engine"].dispose()
    assert await ledger(sessionmaker, order_id) == [("order_debit", -2), ("order_refund", 2)]
    assert await purchases(sessionmaker, order_id) == 0
    assert (await order(client, seller, order_id))["credits_remaining"] == 10


async def _sealed_payload_of_queued_job(worker: WorkerRunner) -> str:
    from arq.connections import create_pool

    from orderatlas.jobs import redis_settings

    pool = await create_pool(redis_settings(worker.settings.redis_url or ""))
    try:
        jobs = await pool.queued_jobs()
    finally:
        await pool.aclose()
    assert len(jobs) == 1
    return str(jobs[0].args[1])


async def test_finished_order_can_be_deleted(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    seller = await accounts.create(test_credits=10)
    detail = await checkout(client, worker, seller, legacy_order())
    response = await client.delete(f"/v1/order/{detail['id']}", headers=seller.test_headers)
    assert response.status_code == 200
    assert response.json() == {"status": "deleted"}
    assert (await client.get(f"/v1/order/{detail['id']}", headers=seller.test_headers)).status_code == 404
    async with sessionmaker() as session:  # the money history outlives the order
        debits = await session.scalar(select(func.count()).where(CreditTransaction.type == "order_debit"))
    assert debits == 1
