"""Outage run: a load of sandbox orders against a real `orderatlas serve` while its Redis is
restarted and then while every PostgreSQL backend of the service is killed (pg_terminate_backend).

    .venv/bin/python bench/outage.py --orders 200

Prints what it saw: the statuses the API answered during each outage (a 500 or a hang is a
failure; JSON 503s are expected), how long after Redis came back /readyz said 200 again and the
API answered, how long the sweeps took to finish what was accepted while Redis was down, and the
counts that must stay at zero (double purchases, stuck orders, ledger mismatches).

PostgreSQL: the machine's (127.0.0.1:5432, database oa7_outage, dropped afterwards) where one
answers, else an embedded one in a temporary directory. Redis: a redis-server of its own on a
loopback port, so that it can be restarted without touching anything shared.
"""

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import legacy_order  # noqa: E402
from tests.outages.test_outages import LEDGER_MISMATCHES  # noqa: E402
from tests.process import PrivateRedis, Service, clean_env, free_port, poll, run_cli, wait_healthy  # noqa: E402

MACHINE_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "oa7_outage"


def machine_postgres() -> str | None:
    try:
        with psycopg.connect(MACHINE_PG, autocommit=True, connect_timeout=2) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    except psycopg.OperationalError:
        return None
    return f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}"


class Load:
    """Orders posted from a few threads until stopped; every answer's status is counted per phase."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url, self.key = base_url, key
        self.phase = "before"
        self.seen: dict[str, Counter[str]] = {}
        self.accepted: list[str] = []
        self.slowest_s = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _one(self, http: httpx.Client) -> None:
        started = time.monotonic()
        try:
            answer = http.post("/v1/order", json=legacy_order())
            outcome = str(answer.status_code)
            if answer.status_code == 503:
                outcome += " " + answer.json().get("code", "?")
            if answer.status_code == 200:
                with self._lock:
                    self.accepted.append(answer.json()["order_id"])
        except httpx.TimeoutException:
            outcome = "hang (no answer in 30 s)"
        except httpx.TransportError as exc:
            outcome = f"transport error {type(exc).__name__}"
        except ValueError:
            outcome = f"{answer.status_code} not JSON"
        with self._lock:
            self.seen.setdefault(self.phase, Counter())[outcome] += 1
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)

    def _run(self, limit: int) -> None:
        headers = {"X-API-Key": self.key}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as http:
            while not self._stop.is_set() and len(self.accepted) < limit:
                self._one(http)

    def start(self, threads: int, limit: int) -> ThreadPoolExecutor:
        pool = ThreadPoolExecutor(threads)
        for _ in range(threads):
            pool.submit(self._run, limit)
        return pool

    def stop(self, pool: ThreadPoolExecutor) -> None:
        self._stop.set()
        pool.shutdown(wait=True)


def ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def terminate_backends(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def audit(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        double = conn.execute(
            "SELECT count(*) FROM (SELECT order_reference FROM sandbox_purchases"
            " GROUP BY order_reference HAVING count(*) > 1) d"
        ).fetchone()
        stuck = conn.execute(
            "SELECT count(*) FROM orders WHERE status IN ('pending', 'processing')"
        ).fetchone()
        ledger = conn.execute(LEDGER_MISMATCHES).fetchone()
        statuses = dict(conn.execute("SELECT status, count(*) FROM orders GROUP BY 1").fetchall())
    print("  final order statuses:", dict(sorted(statuses.items())))
    return {"double purchases": double[0], "stuck orders": stuck[0], "ledger mismatches": ledger[0]}  # type: ignore[index]


def run(workdir: Path, orders: int, outage_s: float) -> bool:
    database_url = machine_postgres()
    data_dir = workdir / "data"
    if database_url is None:
        from orderatlas.embedded import start_postgres

        database_url = start_postgres(data_dir)[0].replace("postgresql+psycopg://", "postgresql://")
    print("postgresql:", "the machine's" if "5432" in database_url else "embedded")
    redis = PrivateRedis(workdir / "redis.log")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = clean_env(
        production_intervals=True,
        ORDERATLAS_DATABASE_URL=database_url,
        ORDERATLAS_REDIS_URL=redis.url,
        ORDERATLAS_SANDBOX_LATENCY_MS="20",
        # How long the sweep waits before finishing an order whose job Redis lost: a pending one
        # (never started, failed and refunded) and a processing one (reconciled). Defaults: 60, 900.
        ORDERATLAS_CHECKOUT_LOST_AFTER_S="10",
        ORDERATLAS_CHECKOUT_STUCK_AFTER_S="30",
        ORDERATLAS_SECRET_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )
    ok = True
    serve: Service | None = None
    try:
        migrated = run_cli("migrate", data_dir=data_dir, env=env)
        assert migrated.returncode == 0, migrated.stderr
        created = run_cli(
            "accounts",
            "create",
            "--email",
            "bench@example.com",
            "--test-credits",
            str(orders * 4),
            data_dir=data_dir,
            env=env,
        )
        assert created.returncode == 0, created.stderr

        key = json.loads(created.stdout)["test_api_key"]
        serve = Service(["serve", "--port", str(port)], data_dir, workdir / "serve.log", env)
        wait_healthy(base_url, serve)
        load = Load(base_url, key)
        pool = load.start(threads=4, limit=orders)

        poll(lambda: len(load.accepted) > orders // 5 or None, timeout_s=120, what="the load to get going")
        print(f"\n1. Redis restarted ({outage_s:g} s down) during the load")
        load.phase = "redis down"
        redis.stop()
        down_at = time.monotonic()
        readyz_down = [ready(base_url) for _ in range(3)]
        while time.monotonic() - down_at < outage_s:
            time.sleep(0.2)
        redis = PrivateRedis(workdir / "redis.log", port=redis.port)
        back_at = time.monotonic()
        load.phase = "redis back"
        poll(lambda: ready(base_url) or None, timeout_s=60, what="/readyz after Redis came back")
        print(
            f"  /readyz while down: {'503' if not any(readyz_down) else 'still 200 (!)'}; "
            f"200 again {time.monotonic() - back_at:.1f} s after Redis came back"
        )
        ok &= not any(readyz_down)

        poll(lambda: len(load.accepted) > orders // 2 or None, timeout_s=120, what="the load to go on")
        print("\n2. every PostgreSQL backend of the service killed, three times, during the load")
        load.phase = "postgres killed"
        killed = 0
        for _ in range(3):
            killed += terminate_backends(database_url)
            time.sleep(0.5)
        print(f"  backends terminated: {killed}")
        load.phase = "after"
        load.stop(pool)
        for phase, counts in load.seen.items():
            print(f"  answers {phase}: {dict(counts)}")
        print(f"  slowest answer: {load.slowest_s:.1f} s")
        bad = [o for counts in load.seen.values() for o in counts if not (o == "200" or o.startswith("503 "))]
        ok &= not bad

        settle_started = time.monotonic()

        def settled() -> bool | None:
            with psycopg.connect(database_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM orders WHERE status IN ('pending', 'processing')"
                ).fetchone()
            return (row is not None and row[0] == 0) or None

        try:
            poll(settled, timeout_s=240, what="every accepted order to finish")
        except AssertionError:
            audit(database_url)
            raise
        print(
            f"\n3. every accepted order ({len(load.accepted)}) finished "
            f"{time.monotonic() - settle_started:.1f} s after the load stopped (sweeps included)"
        )
        counts = audit(database_url)
        for name, count in counts.items():
            print(f"  {name}: {count}")
        ok &= not any(counts.values())
    except AssertionError:
        if serve is not None:
            lines = [line for line in serve.log.splitlines() if "sweep" in line or "in-process" in line]
            print("serve.log (sweeps, worker restarts):\n" + "\n".join(lines[-30:]))
        raise
    finally:
        if serve is not None:
            serve.stop()
        redis.stop()
        if "5432" in database_url:
            with psycopg.connect(MACHINE_PG, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        else:
            from orderatlas.embedded import stop_postgres

            stop_postgres(data_dir)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--outage-s", type=float, default=5.0, help="how long Redis stays down")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="orderatlas-outage-"))
    try:
        ok = run(workdir, args.orders, args.outage_s)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nresult:", "clean" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
