"""The hand-written ceiling: the minimal order work in Starlette over a psycopg pool, no ORM.

    CEILING_DATABASE_URL=postgresql://... uvicorn bench.ceiling:app --no-access-log

POST /v1/order: the key lookup, the order INSERT, the conditional debit UPDATE and the ledger
INSERT, in one transaction. GET /v1/order/{id}: the key, the balance and the order in one query.
It writes OrderAtlas's own tables, so both pay the same indexes and constraints; bench/run.py
gives it an account of its own. It is a yardstick, not a product: no validation beyond parsing.
"""

import hashlib
import json
import os
import uuid
from contextlib import asynccontextmanager
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

COST = 2
POOL_SIZE = int(os.environ.get("CEILING_POOL_SIZE", "10"))

AUTH = "SELECT id, account_id, mode = 'test' AS test FROM api_keys WHERE key_hash = %s AND active"
INSERT_ORDER = """
INSERT INTO orders (id, account_id, api_key_id, test_mode, retailer, platform, status, platform_order_id,
  multi_item, asin, quantity, price_max, product_title, account_email, shipping_address,
  auto_subscribe_save, subscription_canceled, gift, logged_in, failure_reason_code, notes,
  credits_charged, checkout_attempts, imported, refresh_failures, created_at, updated_at)
VALUES (%s, %s, %s, %s, 'sandbox', %s, 'pending', '', false, %s, %s, %s, '', %s, %s,
  false, false, false, false, '', '[]', %s, 0, false, 0, now(), now())
"""
DEBIT = """
UPDATE accounts SET test_credit_balance = test_credit_balance - %s
WHERE id = %s AND test_credit_balance >= %s RETURNING test_credit_balance
"""
LEDGER = """
INSERT INTO credit_transactions (id, account_id, test_mode, amount, type, description, order_id, created_at)
VALUES (%s, %s, true, %s, 'order_debit', %s, %s, now())
"""
READ = """
SELECT o.id, o.platform, o.status, o.platform_order_id, o.asin, o.product_title, o.quantity,
  o.price::text AS price, o.total::text AS total, o.tracking_number, o.carrier, o.notes,
  o.failure_reason_code, o.created_at, o.updated_at, a.test_credit_balance AS credits_remaining
FROM api_keys k JOIN accounts a ON a.id = k.account_id
JOIN orders o ON o.account_id = k.account_id AND o.test_mode = (k.mode = 'test')
WHERE k.key_hash = %s AND k.active AND o.id = %s
"""

pool = AsyncConnectionPool(os.environ.get("CEILING_DATABASE_URL", ""), min_size=POOL_SIZE, open=False)


def _key_hash(request: Request) -> str:
    return hashlib.sha256(request.headers.get("x-api-key", "").strip().encode()).hexdigest()


async def place(request: Request) -> Response:
    body = json.loads(await request.body())
    order_id = uuid.uuid4()
    async with pool.connection() as conn, conn.transaction():
        key = await (await conn.execute(AUTH, (_key_hash(request),))).fetchone()
        if key is None:
            return JSONResponse({"error": "invalid API key", "code": "unauthorized"}, 401)
        key_id, account_id, _test = key
        await conn.execute(
            INSERT_ORDER,
            (
                order_id,
                account_id,
                key_id,
                True,
                body["platform"],
                body["product_id"],
                body["quantity"],
                body["price_max"],
                body["account_email"],
                Jsonb(body["shipping_address"]),
                COST,
            ),
        )
        debited = await (await conn.execute(DEBIT, (COST, account_id, COST))).fetchone()
        if debited is None:
            raise _Rollback
        await conn.execute(
            LEDGER, (uuid.uuid4(), account_id, -COST, f"Order placement: {order_id}", order_id)
        )
    return JSONResponse(
        {
            "order_id": str(order_id),
            "platform": body["platform"],
            "status": "pending",
            "message": "Order submitted for processing",
            "credits_remaining": debited[0],
        }
    )


class _Rollback(Exception):
    pass


async def _insufficient(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "insufficient credits", "code": "insufficient_credits"}, 402)


async def read(request: Request) -> Response:
    try:
        order_id = uuid.UUID(request.path_params["order_id"])
    except ValueError:
        return JSONResponse({"error": "order not found", "code": "not_found"}, 404)
    async with pool.connection() as conn:
        cursor = conn.cursor(row_factory=dict_row)
        row: dict[str, Any] | None = await (
            await cursor.execute(READ, (_key_hash(request), order_id))
        ).fetchone()
    if row is None:
        return JSONResponse({"error": "order not found", "code": "not_found"}, 404)
    row["id"] = str(row["id"])
    row["created_at"], row["updated_at"] = row["created_at"].isoformat(), row["updated_at"].isoformat()
    return JSONResponse(row)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
    await pool.open(wait=True)
    yield
    await pool.close()


app = Starlette(
    routes=[
        Route("/v1/order", place, methods=["POST"]),
        Route("/v1/order/{order_id}", read, methods=["GET"]),
        Route("/healthz", healthz),
    ],
    exception_handlers={_Rollback: _insufficient},
    lifespan=lifespan,
)
