"""create_app(): the FastAPI application, its lifespan resources, error handlers and routers."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from fastapi import FastAPI

from orderatlas.api_keys.router import router as api_keys_router
from orderatlas.auth import ratelimit
from orderatlas.billing.router import router as billing_router
from orderatlas.billing.stripe_api import StripeGateway
from orderatlas.config import Settings
from orderatlas.console.router import mount as mount_console
from orderatlas.conversion.registry import Providers
from orderatlas.conversion.router import router as conversion_router
from orderatlas.dashboard.router import router as dashboard_router
from orderatlas.db import create_engine, create_sessionmaker
from orderatlas.errors import install_error_handlers
from orderatlas.health.router import router as health_router
from orderatlas.jobs import redis_settings
from orderatlas.kit.bodycap import BodySizeLimit
from orderatlas.kit.logs import configure_logging
from orderatlas.observability.middleware import RequestContext
from orderatlas.observability.router import router as metrics_router
from orderatlas.orders.router import list_router as orders_list_router
from orderatlas.orders.router import router as orders_router
from orderatlas.retailers.registry import Retailers
from orderatlas.sandbox.router import router as sandbox_router
from orderatlas.sessions.router import router as sessions_router
from orderatlas.settings.router import router as settings_router
from orderatlas.storage.postgres import PostgresCopyStore
from orderatlas.storage.router import router as copies_router
from orderatlas.tracking.router import router as tracking_router
from orderatlas.webhooks.router import router as webhooks_router
from orderatlas.worker import run_in_process


def app_from_environment() -> FastAPI:
    """The app of one `orderatlas api --workers N` child, configured from ORDERATLAS_* alone."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)


def create_app(settings: Settings, *, run_worker: bool = False) -> FastAPI:
    """The API. With run_worker (orderatlas serve) an arq worker runs in the same process."""
    assert settings.database_url and settings.redis_url, "resolve the embedded defaults first"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url or "")
        app.state.settings = settings
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.redis = await create_pool(redis_settings(settings.redis_url or ""))
        deadline_s = settings.rate_limit_timeout_ms / 1000
        limiter_redis = ratelimit.connect(settings.redis_url or "", deadline_s)
        app.state.limiter = ratelimit.RateLimiter(limiter_redis, deadline_s=deadline_s)
        app.state.retailers = Retailers(app.state.sessionmaker, settings)
        app.state.providers = Providers(settings)
        app.state.stripe = StripeGateway(settings)
        app.state.copies = PostgresCopyStore()
        worker_task = asyncio.create_task(run_in_process(settings)) if run_worker else None
        try:
            yield
        finally:
            if worker_task:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            await app.state.stripe.aclose()
            await limiter_redis.aclose()
            await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="OrderAtlas",
        version="1.0",
        description="Programmatic order placement, tracking and management.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(ratelimit.RateLimitHeaders)
    # An oversized body is refused before anything (rate limit, auth, parsing) reads it; only the
    # request id (which reads no body) sits outside it, so a 413 is counted and carries its id too.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext)  # outermost: its id and timing cover every answer
    app.include_router(orders_router)
    app.include_router(tracking_router)
    app.include_router(conversion_router)
    app.include_router(orders_list_router)
    app.include_router(dashboard_router)
    app.include_router(sandbox_router)
    app.include_router(settings_router)
    app.include_router(api_keys_router)
    app.include_router(webhooks_router)
    app.include_router(billing_router)
    app.include_router(sessions_router)
    app.include_router(copies_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    mount_console(app)

    return app
