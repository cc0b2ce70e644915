"""Idempotency-Key on POST /v1/order, with Stripe's semantics."""

import asyncio
import json
import uuid
from datetime import timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.idempotency import service
from orderatlas.models import Account, CreditTransaction, IdempotencyKey, Order
from orderatlas.models.base import utcnow
from tests.factories import AccountFactory, SellerAccount, legacy_order

pytestmark = pytest.mark.asyncio


def keyed(seller: SellerAccount, key: str) -> dict[str, str]:
    return {**seller.test_headers, "Idempotency-Key": key}


async def order_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def debits(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).where(CreditTransaction.type == "order_debit")
        return int(await session.scalar(stmt) or 0)


async def test_a_replay_returns_the_same_bytes_and_acts_once(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    seller = await accounts.create(test_credits=10)
    first = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "order-1"))
    second = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "order-1"))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await order_count(sessionmaker) == 1
    assert await debits(sessionmaker) == 1
    assert await redis.zcard("arq:queue") == 1


async def test_the_same_body_with_different_spacing_is_the_same_request(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    body = legacy_order()
    compact = json.dumps(body, separators=(",", ":"))
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=2)
    headers = {**keyed(seller, "k"), "Content-Type": "application/json"}
    first = await client.post("/v1/order", content=compact, headers=headers)
    second = await client.post("/v1/order", content=spaced, headers=headers)
    assert second.content == first.content
    assert await order_count(sessionmaker) == 1


async def test_a_different_body_with_the_same_key_is_422_and_changes_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    response = await client.post("/v1/order", json=legacy_order(quantity=2), headers=keyed(seller, "k"))
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert await order_count(sessionmaker) == 1
    assert await debits(sessionmaker) == 1


async def test_validation_failures_are_not_stored(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    bad = await client.post("/v1/order", json=legacy_order(platform="Nowhere"), headers=keyed(seller, "k"))
    assert bad.status_code == 400
    fixed = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    assert fixed.status_code == 200
    assert "Idempotent-Replayed" not in fixed.headers
    assert await order_count(sessionmaker) == 1


async def test_failed_dependency_5xx_is_not_stored(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    unreachable = legacy_order(proxy="127.0.0.1:1")
    assert (await client.post("/v1/order", json=unreachable, headers=keyed(seller, "k"))).status_code == 503
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    fixed = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    assert fixed.status_code == 200


async def test_a_402_is_stored_and_replayed(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=1)
    first = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    assert first.status_code == 402
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Account).values(test_credit_balance=100))
    again = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    assert again.status_code == 402
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await order_count(sessionmaker) == 0


@pytest.mark.parametrize("key", ["x" * 256, "   "])
async def test_a_bad_key_is_400(client: httpx.AsyncClient, accounts: AccountFactory, key: str) -> None:
    seller = await accounts.create(test_credits=10)
    response = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, key))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


async def test_a_255_character_key_is_fine(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create(test_credits=10)
    response = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k" * 255))
    assert response.status_code == 200


async def test_keys_are_scoped_to_the_account(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    one, two = await accounts.create(test_credits=10), await accounts.create(test_credits=10)
    first = await client.post("/v1/order", json=legacy_order(), headers=keyed(one, "shared"))
    second = await client.post("/v1/order", json=legacy_order(), headers=keyed(two, "shared"))
    assert first.json()["order_id"] != second.json()["order_id"]
    assert await order_count(sessionmaker) == 2


async def test_a_key_expires_after_24_hours(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10)
    first = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, minutes=1))
        )
    again = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    assert again.json()["order_id"] != first.json()["order_id"]
    assert await order_count(sessionmaker) == 2


async def test_a_request_in_progress_gets_409(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    seller = await accounts.create(test_credits=10)
    body = json.dumps(legacy_order()).encode()
    print_ = service.fingerprint(settings.secret_key or "", "POST", "/v1/order", body)
    # What a first request holds while it runs: the key claimed in its transaction, not committed.
    async with sessionmaker() as first:
        assert await service.begin(first, uuid.UUID(seller.account_id), "test:k", print_) is None
        response = await client.post(
            "/v1/order", content=body, headers={**keyed(seller, "k"), "Content-Type": "application/json"}
        )
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_conflict"
        await first.rollback()  # the first request dies: nothing of it remains
    retry = await client.post(
        "/v1/order", content=body, headers={**keyed(seller, "k"), "Content-Type": "application/json"}
    )
    assert retry.status_code == 200
    assert await order_count(sessionmaker) == 1


async def test_twenty_concurrent_requests_with_one_key_make_one_order(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=100)
    responses = await asyncio.gather(
        *(client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "race")) for _ in range(20))
    )
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {200, 409}
    ok = [r for r in responses if r.status_code == 200]
    assert len({r.json()["order_id"] for r in ok}) == 1
    assert await order_count(sessionmaker) == 1
    assert await debits(sessionmaker) == 1


async def test_live_and_test_keys_do_not_share_idempotency_keys(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    settings.retailer = "sandbox"
    seller = await accounts.create(test_credits=10, live_credits=10)
    test = await client.post("/v1/order", json=legacy_order(), headers=keyed(seller, "k"))
    live = await client.post(
        "/v1/order", json=legacy_order(), headers={**seller.live_headers, "Idempotency-Key": "k"}
    )
    assert "Idempotent-Replayed" not in live.headers
    assert live.json()["order_id"] != test.json()["order_id"]
    assert await order_count(sessionmaker) == 2
