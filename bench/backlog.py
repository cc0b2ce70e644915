"""A backlog of checkouts for the worker phase: copies of one order the API accepted, queued.

At a few dozen POSTs a second the intake phase leaves too few orders to time a worker that runs
hundreds of checkouts a second, and placing thousands more through the API would take minutes.
So the bench copies one accepted order (its row, items, ledger debit and balance move, as the
API writes them) `count` times in SQL, and queues each copy's checkout job the way the API does
after its commit: the same job name, job id and sealed secrets (kit/crypto.seal under the run's
key, bound to the copy's id).
"""

import asyncio

import psycopg
from arq.connections import create_pool

from bench.scratch import Scratch
from orderatlas.jobs import redis_settings
from orderatlas.kit.crypto import seal
from orderatlas.orders.service import CHECKOUT_JOB, checkout_job_id

_REPLACED = {"id": "gen_random_uuid()", "status": "'pending'", "created_at": "now()", "updated_at": "now()"}
_COPY = """
WITH copies AS (
  INSERT INTO orders ({columns}) SELECT {values} FROM orders, generate_series(1, %(count)s)
  WHERE orders.id = %(template)s
  RETURNING id, account_id, test_mode, credits_charged
),
items AS (
  INSERT INTO order_items (id, order_id, position, asin, quantity, price_max, outcome)
  SELECT gen_random_uuid(), c.id, i.position, i.asin, i.quantity, i.price_max, ''
  FROM copies c, order_items i WHERE i.order_id = %(template)s
),
ledger AS (
  INSERT INTO credit_transactions (id, account_id, test_mode, amount, type, description, order_id, created_at)
  SELECT gen_random_uuid(), account_id, test_mode, -credits_charged, 'order_debit',
    'Order placement: ' || id, id, now() FROM copies
)
SELECT id FROM copies
"""
_DEBIT = "UPDATE accounts SET test_credit_balance = test_credit_balance - %s WHERE id = %s"
_SECRETS = {"password": "hunter2", "totp_secret": None, "proxy": None, "card": None}


def queue_checkouts(scratch: Scratch, account_id: str, template: str, count: int) -> int:
    with psycopg.connect(scratch.database_url) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'"
                " ORDER BY ordinal_position"
            )
        ]
        sql = _COPY.format(
            columns=", ".join(f'"{c}"' for c in columns),
            values=", ".join(_REPLACED.get(c, f'orders."{c}"') for c in columns),
        )
        ids = [str(row[0]) for row in conn.execute(sql, {"template": template, "count": count})]
        cost = conn.execute("SELECT credits_charged FROM orders WHERE id = %s", (template,)).fetchone()
        assert cost is not None
        conn.execute(_DEBIT, (cost[0] * len(ids), account_id))
    asyncio.run(_enqueue(scratch, ids))
    return len(ids)


async def _enqueue(scratch: Scratch, order_ids: list[str]) -> None:
    redis = await create_pool(redis_settings(scratch.redis_url))
    try:
        for order_id in order_ids:
            sealed = seal(_SECRETS, scratch.secret_key, context=order_id)
            await redis.enqueue_job(CHECKOUT_JOB, order_id, sealed, _job_id=checkout_job_id(order_id))
    finally:
        await redis.aclose()
