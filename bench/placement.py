"""Placement throughput: concurrent POST /v1/order against a real `orderatlas serve`, then time to confirm.

    .venv/bin/python bench/placement.py --orders 500 --concurrency 20

Runs on this machine only: an embedded PostgreSQL and Redis in a temporary directory, the API
and one worker in one process (the `serve` default), clients on 127.0.0.1. Prints requests per
second and latency percentiles of the POST, and how long until every order was confirmed.
"""

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.factories import legacy_order  # noqa: E402
from tests.process import Service, clean_env, create_account, free_port, wait_healthy  # noqa: E402


async def _place(
    base_url: str, key: str, orders: int, concurrency: int
) -> tuple[list[float], list[str], float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    order_ids: list[str] = []

    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": key}, timeout=60) as http:

        async def one() -> None:
            async with gate:
                started = time.perf_counter()
                response = await http.post("/v1/order", json=legacy_order())
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                order_ids.append(response.json()["order_id"])

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(orders)))
        return latencies, order_ids, time.perf_counter() - started


async def _until_confirmed(base_url: str, key: str, order_ids: list[str], deadline_s: float) -> float:
    started = time.perf_counter()
    pending = set(order_ids)
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": key}, timeout=60) as http:
        while pending and time.perf_counter() - started < deadline_s:
            for order_id in list(pending):
                if (await http.get(f"/v1/order/{order_id}")).json()["status"] == "confirmed":
                    pending.discard(order_id)
            await asyncio.sleep(0.2)  # a poll interval of the client, not a synchronisation
    if pending:
        raise SystemExit(f"{len(pending)} orders not confirmed within {deadline_s}s")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="orderatlas-bench-"))
    data_dir = workdir / "data"
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    serve = Service(
        ["serve", "--port", port],
        data_dir,
        workdir / "serve.log",
        clean_env(production_intervals=True, ORDERATLAS_LOG_LEVEL="WARNING"),
    )
    try:
        wait_healthy(base_url, serve)
        key = create_account(data_dir, "bench@example.com", test_credits=args.orders * 2)["test_api_key"]
        latencies, order_ids, elapsed = asyncio.run(_place(base_url, key, args.orders, args.concurrency))
        confirm_s = asyncio.run(_until_confirmed(base_url, key, order_ids, deadline_s=600))
    finally:
        serve.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    ms = sorted(x * 1000 for x in latencies)
    print(f"orders: {args.orders}  concurrency: {args.concurrency}")
    print(f"POST /v1/order: {args.orders / elapsed:.0f} req/s")
    print(
        f"latency ms: p50 {statistics.median(ms):.1f}  p95 {ms[int(len(ms) * 0.95) - 1]:.1f}  "
        f"p99 {ms[int(len(ms) * 0.99) - 1]:.1f}  max {ms[-1]:.1f}"
    )
    print(f"all confirmed {confirm_s:.1f} s after the last POST returned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
