"""Retailer passwords, 2FA secrets, card data, session cookies and the retailer session the refresh
keeps reach no table, no log line and no Redis key."""

import copy
import hashlib
import json
from pathlib import Path

import httpx
import psycopg
import redis

from orderatlas.embedded import _redis_socket
from tests.factories import SHIPPING_ADDRESS, legacy_order
from tests.process import Service, clean_env, create_account, free_port, poll, wait_final, wait_healthy

PASSWORD = "Sentinel-Pa55word-7f3a9c"
TOTP = "SENTINELTOTPJBSWY3DPEHPK3PXP"
CARD = "4000056655665556"
CVV = "987"
PROXY_PASSWORD = "Sentinel-Proxy-Secret-31d8"
SENTINELS = (PASSWORD, TOTP, CARD, PROXY_PASSWORD)


def _order() -> dict[str, object]:
    return legacy_order(
        account_password=PASSWORD,
        account_2fa_secret=TOTP,
        proxy=f"127.0.0.1:8080:proxyuser:{PROXY_PASSWORD}",
        payment_method={
            "credit_card_number": CARD,
            "holder_name": "John Doe",
            "exp_month": "01",
            "exp_year": "2029",
            "cvv": CVV,
            "billing_address": {"name": "John Doe", "line1": "123 Main St"},
        },
    )


def _database_text(data_dir: Path) -> str:
    socket_dir = data_dir / "postgres"
    with psycopg.connect(host=str(socket_dir), dbname="orderatlas", user="postgres") as conn:
        tables = [
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert {"orders", "order_items", "order_events", "credit_transactions"} <= set(tables)
        return "\n".join(
            str(row[0])
            for table in tables
            for row in conn.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608
        )


def _redis_text(data_dir: Path) -> bytes:
    client = redis.Redis(unix_socket_path=str(_redis_socket(data_dir.resolve() / "redis")))
    dumped = []
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            if kind == b"string":
                dumped.append(client.get(key) or b"")
            elif kind == b"zset":
                dumped.extend(client.zrange(key, 0, -1))
            elif kind == b"hash":
                dumped.extend(b"".join(pair) for pair in client.hgetall(key).items())
            elif kind == b"list":
                dumped.extend(client.lrange(key, 0, -1))
            elif kind == b"set":
                dumped.extend(client.smembers(key))
            dumped.append(key)
    finally:
        client.close()
    return b"\n".join(dumped)


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_sentinel_secrets_are_nowhere_after_the_order_finishes(data_dir: Path, tmp_path: Path) -> None:
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    serve = Service(
        ["serve", "--port", port], data_dir, tmp_path / "serve.log", clean_env(ORDERATLAS_LOG_LEVEL="DEBUG")
    )
    try:
        wait_healthy(base_url, serve)
        key = create_account(data_dir, "seller@example.com", test_credits=10)["test_api_key"]
        response = httpx.post(f"{base_url}/v1/order", json=_order(), headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
        detail = wait_final(base_url, key, response.json()["order_id"])
        assert detail["status"] == "confirmed"
        responses = response.text + str(detail)
        database = _database_text(data_dir)
        assert "buyer@example.com" in database  # the scan does see the order
        in_redis = _redis_text(data_dir)
    finally:
        assert serve.stop() == 0

    log = serve.log
    assert "checkout_order" in log  # the worker's own log lines are in there
    for sentinel in SENTINELS:
        assert sentinel not in responses
    _nowhere(SENTINELS, data_dir, database, in_redis, log)


def _nowhere(sentinels: tuple[str, ...], data_dir: Path, database: str, in_redis: bytes, log: str) -> None:
    for sentinel in sentinels:
        assert sentinel not in database
        assert sentinel.encode() not in in_redis
        assert sentinel not in log
        # Every byte the embedded servers wrote: heap files, WAL, server log, Redis append-only file.
        assert _files_containing(data_dir, sentinel.encode()) == []


COOKIE = "session-id=Sentinel-Cookie-5e2b77; at-main=Sentinel-Atmain-90c1"


def _sandbox_token(email: str, password: str) -> str:
    """The session token the sandbox logs in with (retailers/sandbox.py): the refresh keeps it."""
    return hashlib.sha256(f"{email}:{password}:False".encode()).hexdigest()


def test_sentinels_are_nowhere_after_status_import_session_checks_and_refreshes(
    data_dir: Path, tmp_path: Path
) -> None:
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    # JSON logs here, text in the test above: the redaction holds for both formats.
    env = clean_env(
        ORDERATLAS_LOG_LEVEL="DEBUG",
        ORDERATLAS_SANDBOX_SHIP_AFTER_S="2",
        ORDERATLAS_LOG_FORMAT="json",
        ORDERATLAS_ACCESS_LOG="true",  # off by default; the access log must not leak either
    )
    serve = Service(["serve", "--port", port], data_dir, tmp_path / "serve.log", env)
    login = {"account_email": "buyer@example.com", "account_password": PASSWORD, "account_2fa_secret": TOTP}
    try:
        wait_healthy(base_url, serve)
        headers = {
            "X-API-Key": create_account(data_dir, "seller@example.com", test_credits=10)["test_api_key"]
        }
        placed = httpx.post(f"{base_url}/v1/order", json=_order(), headers=headers).json()
        wait_final(base_url, headers["X-API-Key"], placed["order_id"])
        checked = httpx.post(f"{base_url}/v1/order/{placed['order_id']}/status", json=login, headers=headers)
        assert checked.status_code == 200, checked.text
        imported = httpx.post(
            f"{base_url}/v1/order/import",
            json={
                **login,
                "platform": "AmazonUS",
                "platform_order_id": "112-4567890-1234567",
                "shipping_address": copy.deepcopy(SHIPPING_ADDRESS),
            },
            headers=headers,
        )
        assert imported.status_code == 200, imported.text
        validated = httpx.post(
            f"{base_url}/v1/sessions/validate", json={"cookie_string": COOKIE}, headers=headers
        )
        assert validated.json()["cookie_string"] == COOKIE  # echoed, as the reference shows; nothing else

        def refreshed_with_the_kept_session() -> bool | None:
            detail = httpx.get(f"{base_url}/v1/order/112-4567890-1234567", headers=headers).json()
            # Only the refresh moves it, and it has nothing to log in with but the kept session.
            return detail["status"] in ("shipped", "out_for_delivery", "delivered") or None

        poll(refreshed_with_the_kept_session, timeout_s=60, what="the imported order to ship on its own")
        database = _database_text(data_dir)
        assert "112-4567890-1234567" in database
        in_redis = _redis_text(data_dir)
    finally:
        assert serve.stop() == 0
    log = serve.log
    assert "refresh_order" in log
    ours = [json.loads(line) for line in log.splitlines() if line.startswith('{"time"')]
    assert any(record.get("order_id") == placed["order_id"] for record in ours)
    assert any(record["logger"] == "uvicorn.access" and record.get("request_id") for record in ours)
    token = _sandbox_token("buyer@example.com", PASSWORD)
    _nowhere((PASSWORD, TOTP, COOKIE, "Sentinel-Cookie-5e2b77", token), data_dir, database, in_redis, log)
