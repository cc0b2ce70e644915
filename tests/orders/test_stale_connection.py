"""A pooled connection PostgreSQL dropped (a restart, pg_terminate_backend) while it sat idle.

There is no pool pre-ping (issue 8: a round trip per checkout from the pool), so the request that
finds the dead connection fails; it must fail as a JSON 503 a client can retry, never a 500, and
the pool must be usable again by the next request.
"""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderatlas.app import create_app
from orderatlas.config import Settings
from tests.factories import AccountFactory, legacy_order

pytestmark = pytest.mark.asyncio

_APP_NAME = "oa_stale_connection_test"


@pytest.fixture
async def named_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app, its connections named so the test can kill only those."""
    assert settings.database_url is not None
    sep = "&" if "?" in settings.database_url else "?"
    named = settings.model_copy(
        update={"database_url": f"{settings.database_url}{sep}application_name={_APP_NAME}"}
    )
    app = create_app(named)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orderatlas.test") as http:
            yield http


async def _kill_app_connections(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        killed = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"
            ),
            {"name": _APP_NAME},
        )
    return int(killed or 0)


async def test_a_dropped_pooled_connection_answers_503_then_recovers(
    named_client: httpx.AsyncClient, accounts: AccountFactory, engine: AsyncEngine
) -> None:
    seller = await accounts.create(test_credits=10)
    placed = await named_client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    assert placed.status_code == 200
    order_id = placed.json()["order_id"]
    assert await _kill_app_connections(engine) >= 1

    stale = await named_client.get(f"/v1/order/{order_id}", headers=seller.test_headers)
    assert stale.status_code == 503, stale.text
    assert stale.json() == {"error": stale.json()["error"], "code": "database_unavailable"}
    assert "Traceback" not in stale.text
    assert stale.headers["retry-after"] == "1"

    # The pool dropped its stale connections: the retry is served, and so is a new order.
    again = await named_client.get(f"/v1/order/{order_id}", headers=seller.test_headers)
    assert again.status_code == 200
    assert again.json()["credits_remaining"] == 8
    retried = await named_client.post(
        "/v1/order",
        json=legacy_order(),
        headers={**seller.test_headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert retried.status_code == 200
    assert retried.json()["credits_remaining"] == 6
