"""GET /metrics: a placed order moves the counters it should; several processes add up."""

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from orderatlas.config import Settings
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order
from tests.process import Service, clean_env, free_port, poll, wait_healthy
from tests.receiver import running_receiver


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_a_placed_order_moves_the_order_credit_checkout_webhook_and_request_counters(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    before = await scrape(client)
    with running_receiver() as receiver:
        placed = await client.post(
            "/v1/order", json=legacy_order(webhook_url=receiver.url), headers=seller.test_headers
        )
        assert placed.status_code == 200, placed.text
        queued = await scrape(client)
        assert queued[("orderatlas_job_queue_depth", frozenset())] >= 1  # the checkout waits in Redis
        await worker.run()
        receiver.wait_for(2)
        await worker.run()  # the sends queued by the checkout's commit
    after = await scrape(client)

    assert moved(before, after, "orderatlas_orders_accepted_total", mode="test") == 1
    finished = dict(mode="test", status="confirmed", failure_reason_code="")
    assert moved(before, after, "orderatlas_orders_finished_total", **finished) == 1
    assert moved(before, after, "orderatlas_credits_debited_total", mode="test", type="order_debit") == 2
    assert moved(before, after, "orderatlas_checkout_duration_seconds_count", status="confirmed") == 1
    delivered = dict(target="webhook", outcome="delivered")
    assert moved(before, after, "orderatlas_webhook_attempts_total", **delivered) >= 2
    assert moved(before, after, "orderatlas_webhook_attempt_duration_seconds_count", target="webhook") >= 2
    request = dict(method="POST", route="/v1/order", status="200")
    assert moved(before, after, "orderatlas_http_requests_total", **request) == 1
    latency = dict(method="POST", route="/v1/order")
    assert moved(before, after, "orderatlas_http_request_duration_seconds_count", **latency) == 1
    assert after[("orderatlas_job_queue_depth", frozenset())] == 0


async def test_a_failed_order_is_counted_by_its_failure_reason_and_its_refund(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    before = await scrape(client)
    body = legacy_order(account_email="buyer+login_failed@example.com")  # docs/sandbox.md
    assert (await client.post("/v1/order", json=body, headers=seller.test_headers)).status_code == 200
    await worker.run()
    after = await scrape(client)
    labels = dict(mode="test", status="failed", failure_reason_code="LOGIN_FAILED")
    assert moved(before, after, "orderatlas_orders_finished_total", **labels) == 1
    assert moved(before, after, "orderatlas_credits_refunded_total", mode="test", type="order_refund") == 2


async def test_an_order_refused_for_bad_input_counts_nothing_but_the_request(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    before = await scrape(client)
    refused = await client.post("/v1/order", json={"platform": "AmazonUS"}, headers=seller.test_headers)
    assert refused.status_code == 400
    after = await scrape(client)
    assert moved(before, after, "orderatlas_orders_accepted_total", mode="test") == 0
    request = dict(method="POST", route="/v1/order", status="400")
    assert moved(before, after, "orderatlas_http_requests_total", **request) == 1
    unknown = await client.get("/no/such/path/123")
    assert unknown.status_code == 404
    last = await scrape(client)
    assert moved(after, last, "orderatlas_http_requests_total", method="GET", route="unmatched", status="404")


_CHILD = """
from orderatlas.observability.metrics import HTTP_REQUESTS, ORDERS_ACCEPTED
ORDERS_ACCEPTED.labels("live").inc(3)
HTTP_REQUESTS.labels("GET", "/v1/orders", "200").inc()
"""


def test_several_processes_sharing_a_multiprocess_dir_add_up_in_one_scrape(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True, timeout=60)
    render = (
        "import asyncio, sys; from orderatlas.observability.metrics import render;"
        "sys.stdout.write(asyncio.run(render(None)).decode())"
    )
    text = subprocess.run(
        [sys.executable, "-c", render], env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    got = samples(text)
    assert got[("orderatlas_orders_accepted_total", frozenset({("mode", "live")}))] == 6
    request = frozenset({("method", "GET"), ("route", "/v1/orders"), ("status", "200")})
    assert got[("orderatlas_http_requests_total", request)] == 2


def test_a_worker_serves_its_own_metrics_on_its_metrics_port(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        ORDERATLAS_DATABASE_URL=settings.database_url or "",
        ORDERATLAS_REDIS_URL=settings.redis_url or "",
        ORDERATLAS_SECRET_KEY=settings.secret_key or "",
    )
    worker = Service(["worker", "--metrics-port", str(port)], tmp_path, tmp_path / "worker.log", env)
    try:

        def scraped() -> str | None:
            assert worker.process.poll() is None, worker.log
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
            except httpx.TransportError:
                return None

        text = poll(scraped, timeout_s=60, what="the worker's metrics port")
        # Stopped once arq runs (and handles SIGTERM), not while it is still starting.
        poll(lambda: "Starting worker" in worker.log or None, timeout_s=60, what="the worker to start")
    finally:
        assert worker.stop() == 0, worker.log
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"orderatlas_checkout_duration_seconds", "orderatlas_webhook_attempts"} <= names


def test_api_worker_processes_on_one_port_add_up_in_metrics(settings: Settings, tmp_path: Path) -> None:
    port, metrics_dir = free_port(), tmp_path / "metrics"
    metrics_dir.mkdir()
    env = clean_env(
        ORDERATLAS_DATABASE_URL=settings.database_url or "",
        ORDERATLAS_REDIS_URL=settings.redis_url or "",
        ORDERATLAS_SECRET_KEY=settings.secret_key or "",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    base_url = f"http://127.0.0.1:{port}"
    api = Service(["api", "--port", str(port), "--workers", "2"], tmp_path, tmp_path / "api.log", env)
    sent = 0
    url = f"{base_url}/v1/dashboard/overview"  # no key: a 401 that only this test's burst asks for
    try:
        wait_healthy(base_url, api)

        def both_answered() -> bool | None:
            nonlocal sent
            with ThreadPoolExecutor(8) as pool:  # fresh connections, so both processes accept some
                codes = list(pool.map(lambda _: httpx.get(url, timeout=60).status_code, range(16)))
            sent += len(codes)
            assert set(codes) == {401}
            return len([n for n in refused_by_process(metrics_dir) if n]) >= 2 or None

        poll(both_answered, timeout_s=120, what="both API processes to answer")
        text = httpx.get(f"{base_url}/metrics", timeout=60).text
    finally:
        api.stop()
    assert samples(text)[("orderatlas_http_requests_total", REFUSED)] == sent  # every process's count


REFUSED = frozenset({("method", "GET"), ("route", "/v1/dashboard/overview"), ("status", "401")})


def refused_by_process(metrics_dir: Path) -> list[float]:
    """Each process's own count of the burst's 401s, read from its file alone."""
    counts = []
    for path in metrics_dir.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(path, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=alone)
            counts.append(
                samples(generate_latest(registry).decode()).get(
                    ("orderatlas_http_requests_total", REFUSED), 0.0
                )
            )
    return counts


async def test_a_scrape_without_redis_keeps_the_process_metrics_and_leaves_out_the_queue() -> None:
    from arq.connections import ArqRedis

    from orderatlas.observability.metrics import render
    from tests.process import free_port

    unreachable = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    text = (await render(unreachable)).decode()
    await unreachable.aclose()
    assert "orderatlas_http_requests_total" in text or "orderatlas_http_request_duration_seconds" in text
    assert "orderatlas_job_queue_depth" not in text
