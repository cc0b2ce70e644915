"""X-Request-ID: taken when well-formed, made otherwise, returned, and carried into the jobs a
request queues, so the worker's log lines for the order carry it."""

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderatlas.observability.logs import ContextFilter, json_formatter
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order
from tests.receiver import running_receiver


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines to a buffer, as ORDERATLAS_LOG_FORMAT=json sets it up."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line]


async def test_a_well_formed_request_id_is_returned_as_sent(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "edge-7f3a:01"})
    assert response.headers["X-Request-ID"] == "edge-7f3a:01"


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "-leading-dash", 'quote"d'])
async def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(
    client: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = (await client.get("/healthz", headers=headers)).headers["X-Request-ID"]
    second = (await client.get("/healthz", headers=headers)).headers["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


async def test_errors_carry_the_request_id_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/order/nope", headers={"X-Request-ID": "err-1"})
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "err-1"


async def test_the_worker_logs_an_orders_checkout_and_webhooks_with_the_posts_request_id(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, json_log: io.StringIO
) -> None:
    seller = await accounts.create()
    with running_receiver() as receiver:
        headers = {**seller.test_headers, "X-Request-ID": "trace-order-42"}
        placed = await client.post("/v1/order", json=legacy_order(webhook_url=receiver.url), headers=headers)
        assert placed.status_code == 200, placed.text
        order_id = placed.json()["order_id"]
        await worker.run()
        receiver.wait_for(2)
        await worker.run()

    records = lines(json_log)
    checkout = [r for r in records if r["logger"] == "orderatlas.orders.tasks"]
    webhooks = [r for r in records if r["logger"] == "orderatlas.webhooks.tasks"]
    assert checkout and len(webhooks) >= 2
    for record in checkout + webhooks:
        assert record["request_id"] == "trace-order-42", record
        assert record["order_id"] == order_id, record
        assert record["account_id"] == seller.account_id, record
        assert {"time", "level", "message"} <= record.keys()


async def test_a_line_logged_after_a_request_carries_none_of_its_context(
    client: httpx.AsyncClient, json_log: io.StringIO
) -> None:
    await client.get("/healthz", headers={"X-Request-ID": "not-leaking"})
    logging.getLogger("orderatlas.test").info("outside any request")
    record = lines(json_log)[-1]
    assert record["message"] == "outside any request"
    assert "request_id" not in record and "order_id" not in record


async def test_a_retry_the_sweep_queues_logs_its_order_but_no_request_id(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    engine: AsyncEngine,
    json_log: io.StringIO,
) -> None:
    seller = await accounts.create()
    with running_receiver() as receiver:
        receiver.status = 503
        headers = {**seller.test_headers, "X-Request-ID": "first-try"}
        placed = await client.post("/v1/order", json=legacy_order(webhook_url=receiver.url), headers=headers)
        order_id = placed.json()["order_id"]
        await worker.run()  # checkout, and the first (refused) sends
        receiver.status = 200
        json_log.truncate(0)
        json_log.seek(0)
        async with engine.begin() as conn:  # due now rather than in 5 s
            await conn.execute(text("UPDATE webhook_deliveries SET next_attempt_at = now()"))
        await worker.run(with_cron=True)
        receiver.wait_for(1, matching=lambda r: r.json()["event"] == "order.created")
    retries = [r for r in lines(json_log) if r["logger"] == "orderatlas.webhooks.tasks"]
    assert retries
    for record in retries:
        assert record["order_id"] == order_id and record["account_id"] == seller.account_id
        assert "request_id" not in record


def test_an_id_with_a_trailing_newline_is_not_well_formed() -> None:
    from orderatlas.observability.context import request_id_from

    assert request_id_from("ok") == "ok"
    assert request_id_from("ok\n") != "ok\n"


async def test_json_lines_carry_only_the_chosen_fields(json_log: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info("started", extra={"color_message": "\x1b[32mstarted\x1b[0m"})
    [line] = [entry for entry in lines(json_log) if entry.get("message") == "started"]
    assert "color_message" not in line and "log_context" not in line
    assert {"time", "level", "logger", "message"} <= set(line)


async def test_an_outgoing_request_url_never_reaches_the_logs() -> None:
    """A Discord webhook URL carries its token in the path: httpx's own INFO line must not log it."""
    from orderatlas.observability.logs import configure

    buffer = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    try:
        configure("INFO", "json")
        root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
        with running_receiver() as receiver:
            async with httpx.AsyncClient() as http:
                await http.post(f"{receiver.url}/api/webhooks/123/TOKEN-SENTINEL-5521", json={})
        assert "TOKEN-SENTINEL-5521" not in buffer.getvalue()
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


async def test_an_unhandled_error_answers_500_with_the_request_id_and_logs_it_with_its_context(
    json_log: io.StringIO,
) -> None:
    from orderatlas.observability.middleware import RequestContext

    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=RequestContext(broken))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/anything", headers={"X-Request-ID": "bug-500"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "code": "internal_error"}
    assert response.headers["X-Request-ID"] == "bug-500"
    [line] = [entry for entry in lines(json_log) if entry.get("message") == "unhandled error"]
    assert line["request_id"] == "bug-500" and "a bug" in str(line.get("exc_info"))
