"""EXPLAIN the statements that hit the big tables, on a million rows of each.

    .venv/bin/python bench/explain.py [--rows 1000000]

Builds the schema with the real migrations on a scratch database (bench/scratch.py), fills
orders, credit_transactions, webhook_events and webhook_deliveries with --rows rows each in SQL,
ANALYZEs, and prints the plan of each statement below (the foreign keys' ON DELETE work written
out as the statement PostgreSQL runs for it). A sequential scan of a big table is flagged.
"""

import argparse
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_services  # noqa: E402
from tests.process import clean_env, run_cli  # noqa: E402

FILL = """
INSERT INTO accounts (id, email, webhook_secret) VALUES
  ('00000000-0000-0000-0000-000000000001', 'big@example.com', 'x');
INSERT INTO orders (id, account_id, test_mode, retailer, platform, status, multi_item, asin, quantity,
  account_email, shipping_address, notes, credits_charged, checkout_attempts, created_at, updated_at,
  platform_order_id, auto_subscribe_save, subscription_canceled, gift, logged_in)
SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', i % 2 = 0, 'sandbox', 'AmazonUS',
  (ARRAY['confirmed','shipped','delivered','failed'])[1 + i % 4], false, 'B09V3KXJPB', 1,
  'buyer@example.com', '{}', '[]', 2, 1, now() - make_interval(secs => i), now() - make_interval(secs => i),
  '111-' || lpad(i::text, 7, '0') || '-0000000', false, false, false, true
FROM generate_series(1, %(rows)s) AS i;
INSERT INTO credit_transactions (id, account_id, test_mode, amount, type, description, order_id, created_at)
SELECT gen_random_uuid(), account_id, test_mode, -2, 'order_debit', 'Order placement', id, created_at
FROM orders;
INSERT INTO webhook_events (id, account_id, order_id, event, payload, created_at)
SELECT gen_random_uuid(), account_id, id, 'order.created', '{}', created_at FROM orders;
INSERT INTO webhook_deliveries (id, event_id, account_id, target, url, state, attempts, cycle_attempts,
  next_attempt_at, created_at)
SELECT gen_random_uuid(), id, account_id, 'webhook', 'https://example.com/hook', 'delivered', 1, 1,
  created_at, created_at FROM webhook_events;
ANALYZE;
"""

ORDER = "'%(order_id)s'"  # one order from the middle, picked before the plans are taken
STATEMENTS = {
    "DELETE /v1/order/:id: the ledger's ON DELETE SET NULL": "UPDATE credit_transactions "
    f"SET order_id = NULL WHERE order_id = {ORDER}",
    "refund: the order's debit": f"SELECT * FROM credit_transactions WHERE order_id = {ORDER} "
    "AND type = 'order_debit'",
    "webhook purge (daily)": "DELETE FROM webhook_events WHERE created_at < now() - interval '30 days' "
    "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id "
    "AND d.state = 'pending')",
    "webhook purge: its deliveries' cascade": "DELETE FROM webhook_deliveries "
    "WHERE event_id = '%(event_id)s'",
    "webhook sweep (every 5 s)": "SELECT id, attempts FROM webhook_deliveries WHERE state = 'pending' "
    "AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now()) "
    "ORDER BY next_attempt_at LIMIT 1000",
    "stuck-order sweep (every minute)": "SELECT id, status FROM orders WHERE (status = 'processing' AND "
    "processing_started_at < now() - interval '15 minutes') OR (status = 'pending' AND created_at < "
    "now() - interval '60 seconds') ORDER BY created_at LIMIT 500",
    "refresh sweep (every 5 s)": "SELECT id FROM orders WHERE next_refresh_at <= now() "
    "ORDER BY next_refresh_at LIMIT 500 FOR UPDATE SKIP LOCKED",
    "GET /v1/order/:platform_order_id": "SELECT * FROM orders WHERE account_id = "
    "'00000000-0000-0000-0000-000000000001' AND test_mode AND platform_order_id = '111-0001000-0000000' "
    "ORDER BY created_at DESC LIMIT 1",
    "GET /v1/orders (first page)": "SELECT * FROM orders WHERE account_id = "
    "'00000000-0000-0000-0000-000000000001' AND test_mode ORDER BY created_at DESC, id DESC LIMIT 50",
    "GET /v1/billing/transactions": "SELECT * FROM credit_transactions WHERE account_id = "
    "'00000000-0000-0000-0000-000000000001' AND test_mode ORDER BY seq DESC LIMIT 50",
    "order events of an order": f"SELECT * FROM webhook_events WHERE order_id = {ORDER}",
    "idempotency purge (hourly)": "DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'",
}
BIG = ("orders", "credit_transactions", "webhook_events", "webhook_deliveries")
# Migration 0008's: each statement is explained with them and again without them (dropped inside
# a transaction that is rolled back), to show what they change.
NEW_INDEXES = ("ix_credit_transactions_order_id", "ix_webhook_events_created_at")


def _plan(conn: psycopg.Connection, sql: str, *, without: tuple[str, ...] = ()) -> list[str]:
    with conn.transaction(force_rollback=True):
        for index in without:
            conn.execute(f"DROP INDEX {index}")
        return [row[0] for row in conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")]


def _scans(plan: list[str]) -> bool:
    return any("Seq Scan on" in line and any(f" {t} " in line + " " for t in BIG) for line in plan)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with scratch_services() as scratch:
        env = clean_env(production_intervals=True, **scratch.env())
        migrated = run_cli("migrate", data_dir=scratch.workdir / "data", env=env)
        assert migrated.returncode == 0, migrated.stderr
        with psycopg.connect(scratch.database_url, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(FILL.replace("%(rows)s", str(args.rows)))
            print(f"filled {args.rows} rows per table in {time.perf_counter() - started:.0f} s\n")
            picked = conn.execute(
                "SELECT o.id, e.id FROM orders o JOIN webhook_events e ON e.order_id = o.id "
                "ORDER BY o.created_at OFFSET %s LIMIT 1",
                (args.rows // 2,),
            ).fetchone()
            assert picked is not None
            ids = {"order_id": picked[0], "event_id": picked[1]}
            flagged = 0
            for name, sql in STATEMENTS.items():
                plan = _plan(conn, sql % ids)
                flagged += _scans(plan)
                print(f"-- {name}{'   <-- SEQUENTIAL SCAN' if _scans(plan) else ''}")
                print("\n".join(plan), end="\n\n")
                before = _plan(conn, sql % ids, without=NEW_INDEXES)
                if _scans(before) and not _scans(plan):
                    print(f"   without migration 0008's indexes it was:\n{chr(10).join(before)}\n")
    print(f"{flagged} statement(s) scan a big table")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
