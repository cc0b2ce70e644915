"""The crash scenario: real API and worker processes, workers SIGKILLed at random points mid-checkout.

Used by tests/orders/test_crash.py (small) and bench/chaos.py (large). Counts come from the database
and from the sandbox retailer's own purchase history, not from what the API says.
"""

import random
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psycopg

from tests.factories import legacy_order
from tests.process import Service, clean_env, create_account, free_port, poll, run_cli, wait_healthy

PLACED = ("confirmed", "purchased", "warning", "awaiting_approval", "payment_revision")
FAILED = ("failed", "PRICE_EXCEEDED")
# A mix that exercises every path a kill can interrupt: plain, fresh-session retries, rotation, terminal.
BUYERS = (
    "buyer@example.com",
    "buyer+session_flagged_at_place_once@example.com",
    "buyer+shipping_restricted_once@example.com",
    "buyer+oos_after_retries@example.com",
    "buyer+checkout_blocked@example.com",
    "buyer+purchased@example.com",
)


@dataclass
class ChaosReport:
    orders: int = 0
    kills: int = 0
    purchases: int = 0
    double_purchases: int = 0
    stuck_orders: int = 0
    refund_mismatches: int = 0
    failed_with_purchase: int = 0
    placed_without_purchase: int = 0
    ledger_mismatches: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not (
            self.double_purchases
            or self.stuck_orders
            or self.refund_mismatches
            or self.failed_with_purchase
            or self.placed_without_purchase
            or self.ledger_mismatches
        )

    def lines(self) -> list[str]:
        return [f"{name:>24}: {value}" for name, value in asdict(self).items()]


def _connect(data_dir: Path) -> psycopg.Connection:
    return psycopg.connect(host=str(data_dir.resolve() / "postgres"), dbname="orderatlas", user="postgres")


def _in_flight(data_dir: Path) -> int:
    with _connect(data_dir) as conn:
        row = conn.execute("SELECT count(*) FROM orders WHERE status IN ('pending', 'processing')").fetchone()
    return int(row[0]) if row else 0


def _audit(data_dir: Path, report: ChaosReport) -> None:
    with _connect(data_dir) as conn:
        rows = conn.execute(
            """
            SELECT o.status,
                   (SELECT count(*) FROM sandbox_purchases p WHERE p.order_reference = o.id::text),
                   (SELECT count(*) FROM credit_transactions c
                    WHERE c.order_id = o.id AND c.type = 'order_refund')
            FROM orders o
            """
        ).fetchall()
        ledger = conn.execute(
            """
            SELECT count(*) FROM accounts a
            WHERE a.credit_balance <> (SELECT coalesce(sum(amount), 0) FROM credit_transactions c
                                       WHERE c.account_id = a.id AND NOT c.test_mode)
               OR a.test_credit_balance <> (SELECT coalesce(sum(amount), 0) FROM credit_transactions c
                                            WHERE c.account_id = a.id AND c.test_mode)
            """
        ).fetchone()
    for status, purchases, refunds in rows:
        report.purchases += purchases
        report.double_purchases += purchases > 1
        report.stuck_orders += status in ("pending", "processing")
        report.refund_mismatches += refunds != (1 if status in FAILED else 0)
        report.failed_with_purchase += status in FAILED and purchases > 0
        report.placed_without_purchase += status in PLACED and purchases == 0
    report.ledger_mismatches = int(ledger[0]) if ledger else 0


def run_chaos(
    workdir: Path,
    data_dir: Path,
    *,
    orders: int = 30,
    workers: int = 2,
    kills: int = 4,
    latency_ms: int = 150,
    seed: int = 7,
    settle_timeout_s: float = 120,
) -> ChaosReport:
    rng = random.Random(seed)
    report = ChaosReport(orders=orders)
    started = time.monotonic()
    env = clean_env(
        ORDERATLAS_SANDBOX_LATENCY_MS=str(latency_ms),
        # arq re-runs a dead worker's job once its in-progress mark expires: job timeout + 10 s.
        ORDERATLAS_CHECKOUT_JOB_TIMEOUT_S="5",
        ORDERATLAS_WORKER_MAX_JOBS="8",
    )
    run_cli("migrate", data_dir=data_dir, env=env)
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    api = Service(["api", "--port", port], data_dir, workdir / "api.log", env)
    pool: list[Service] = []
    spawned = 0

    def spawn() -> Service:
        nonlocal spawned
        spawned += 1
        return Service(["worker"], data_dir, workdir / f"worker{spawned}.log", env)

    try:
        wait_healthy(base_url, api)
        key = create_account(data_dir, "chaos@example.com", test_credits=orders * 2)["test_api_key"]
        with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=30) as http:
            for n in range(orders):
                body = legacy_order(
                    account_email=BUYERS[n % len(BUYERS)], product_id=f"B0CHAOS{n % 900 + 100:03d}"
                )
                assert http.post("/v1/order", json=body).status_code == 200
        pool = [spawn() for _ in range(workers)]
        for _ in range(kills):
            time.sleep(rng.uniform(0.1, 0.8))  # a random point in the checkouts, not a synchronisation
            victim = pool.pop(rng.randrange(len(pool)))
            victim.process.send_signal(signal.SIGKILL)
            victim.stop()
            report.kills += 1
            pool.append(spawn())
        poll(
            lambda: _in_flight(data_dir) == 0 or None,
            timeout_s=settle_timeout_s,
            what="every order to finish",
        )
    except AssertionError:
        pass  # what did not finish is counted as stuck below
    finally:
        _audit(data_dir, report)
        for process in pool:
            process.stop()
        api.stop()
        report.seconds = round(time.monotonic() - started, 1)
    return report
