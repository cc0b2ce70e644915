"""GET /readyz follows PostgreSQL and Redis; GET /healthz is the process alone."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from orderatlas.app import create_app
from orderatlas.config import Settings
from tests.outage_proxy import OutageProxy, outage_proxy


@asynccontextmanager
async def app_behind(
    settings: Settings, database: OutageProxy, redis: OutageProxy
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"database_url": database.url, "redis_url": redis.url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orderatlas.test") as http:
            yield http


async def test_readyz_is_503_while_postgres_or_redis_is_down_and_200_when_back(settings: Settings) -> None:
    async with (
        outage_proxy(settings.database_url or "") as database,
        outage_proxy(settings.redis_url or "") as redis,
        app_behind(settings, database, redis) as http,
    ):
        assert (await http.get("/readyz")).json() == {"status": "ok", "database": "ok", "redis": "ok"}

        await database.down()
        answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "database": "unavailable", "redis": "ok"}
        assert (await http.get("/healthz")).status_code == 200  # the process itself is fine

        await database.up()
        await redis.down()
        answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}

        await redis.up()
        answer = await http.get("/readyz")
        assert answer.status_code == 200, answer.text
