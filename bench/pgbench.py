"""pgbench on the ceiling's order transaction: what PostgreSQL alone gives on this machine."""

import hashlib
import re
import subprocess
import tempfile
from pathlib import Path

from bench.scratch import Scratch

# The same four statements as bench/ceiling.py's POST, with pgbench's variables.
_SCRIPT = """
BEGIN;
SELECT id AS key_id, account_id FROM api_keys WHERE key_hash = :key_hash AND active \\gset
SELECT gen_random_uuid() AS order_id \\gset
INSERT INTO orders (id, account_id, api_key_id, test_mode, retailer, platform, status, platform_order_id,
  multi_item, asin, quantity, price_max, product_title, account_email, shipping_address,
  auto_subscribe_save, subscription_canceled, gift, logged_in, failure_reason_code, notes,
  credits_charged, checkout_attempts, imported, refresh_failures, created_at, updated_at)
VALUES (:order_id, :account_id, :key_id, true, 'sandbox', 'AmazonUS', 'pending', '', false,
  'B09V3KXJPB', 1, 50.00, '', 'buyer@example.com', '{"name": "Jane Doe"}', false, false, false, false,
  '', '[]', 2, 0, false, 0, now(), now());
UPDATE accounts SET test_credit_balance = test_credit_balance - 2
  WHERE id = :account_id AND test_credit_balance >= 2 RETURNING test_credit_balance;
INSERT INTO credit_transactions (id, account_id, test_mode, amount, type, description, order_id, created_at)
VALUES (gen_random_uuid(), :account_id, true, -2, 'order_debit', 'Order placement', :order_id, now());
END;
"""


def order_transaction(scratch: Scratch, account_id: str, api_key: str, seconds: int, clients: int) -> float:
    key_hash = hashlib.sha256(api_key.encode()).hexdigest()
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(_SCRIPT)
    try:
        done = subprocess.run(
            [
                "pgbench",
                "-n",
                "-M",
                "extended",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-D",
                f"key_hash={key_hash}",
                "-f",
                script.name,
                scratch.database_url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        Path(script.name).unlink()
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    if done.returncode != 0 or found is None:
        print(f"  pgbench failed: {done.stderr.strip()[-500:]}")
        return 0.0
    return round(float(found.group(1)), 1)
