"""Races against a real `orderatlas serve` process over real HTTP."""

import asyncio
from typing import Any

import httpx
import psycopg
import pytest

from orderatlas.kit.crypto import sha256_hex
from tests.conftest import LiveService
from tests.factories import legacy_order

# One `orderatlas serve` for the module and test_fuzz.py: under xdist they run on one worker.
pytestmark = [pytest.mark.asyncio, pytest.mark.xdist_group("live_service")]


def _account_state(live: LiveService, api_key: str) -> dict[str, Any]:
    with psycopg.connect(
        host=str(live.data_dir.resolve() / "postgres"), dbname="orderatlas", user="postgres"
    ) as db:
        row = db.execute(
            """
            SELECT a.test_credit_balance,
                   (SELECT coalesce(sum(amount), 0) FROM credit_transactions c
                    WHERE c.account_id = a.id AND c.test_mode),
                   (SELECT count(*) FROM orders o WHERE o.account_id = a.id),
                   (SELECT count(*) FROM credit_transactions c
                    WHERE c.account_id = a.id AND c.type = 'order_debit'),
                   a.credit_balance
            FROM accounts a JOIN api_keys k ON k.account_id = a.id WHERE k.key_hash = %s
            """,
            (sha256_hex(api_key),),
        ).fetchone()
    assert row is not None
    return {
        "balance": row[0],
        "ledger_sum": row[1],
        "orders": row[2],
        "debits": row[3],
        "live_balance": row[4],
    }


async def test_fifty_concurrent_orders_on_credits_for_ten(live_service: LiveService) -> None:
    key = live_service.new_key(test_credits=20)  # 10 placements at 2 credits
    async with httpx.AsyncClient(
        base_url=live_service.base_url, headers={"X-API-Key": key}, timeout=60
    ) as http:
        responses = await asyncio.gather(*(http.post("/v1/order", json=legacy_order()) for _ in range(50)))
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 10
    assert codes.count(402) == 40
    assert all(r.json()["code"] == "insufficient_credits" for r in responses if r.status_code == 402)
    state = _account_state(live_service, key)
    assert state == {"balance": 0, "ledger_sum": 0, "orders": 10, "debits": 10, "live_balance": 0}


async def test_twenty_concurrent_retries_with_one_key_make_one_order(live_service: LiveService) -> None:
    key = live_service.new_key(test_credits=100)
    headers = {"X-API-Key": key, "Idempotency-Key": "connector-retry-1"}
    async with httpx.AsyncClient(base_url=live_service.base_url, headers=headers, timeout=60) as http:
        responses = await asyncio.gather(*(http.post("/v1/order", json=legacy_order()) for _ in range(20)))
        replay = await http.post("/v1/order", json=legacy_order())
    assert {r.status_code for r in responses} <= {200, 409}
    first = next(r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers)
    assert replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    state = _account_state(live_service, key)
    assert state["orders"] == 1
    assert state["debits"] == 1
    assert state["balance"] == state["ledger_sum"] == 98
