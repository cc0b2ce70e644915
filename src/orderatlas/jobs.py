"""Background jobs: the arq worker settings and "enqueue after commit".

Jobs queued during a unit of work are held on the session and sent to Redis only after
the commit succeeds; a rollback drops them.
"""

from dataclasses import dataclass
from typing import Any

import httpx
from arq.connections import ArqRedis, RedisSettings
from sqlalchemy.ext.asyncio import AsyncSession

_PENDING = "orderatlas.pending_jobs"


@dataclass(frozen=True)
class QueuedJob:
    function: str
    args: tuple[Any, ...]
    job_id: str | None


def enqueue_after_commit(session: AsyncSession, function: str, *args: Any, job_id: str | None = None) -> None:
    session.info.setdefault(_PENDING, []).append(QueuedJob(function, args, job_id))


def discard_pending_jobs(session: AsyncSession) -> None:
    session.info.pop(_PENDING, None)


async def send_pending_jobs(session: AsyncSession, redis: ArqRedis | None) -> None:
    jobs: list[QueuedJob] = session.info.pop(_PENDING, [])
    if jobs and redis is None:
        raise RuntimeError("jobs were queued but no Redis pool is configured")
    for job in jobs:
        assert redis is not None
        await redis.enqueue_job(job.function, *job.args, _job_id=job.job_id)


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def _startup(ctx: dict[str, Any]) -> None:
    from orderatlas.db import create_engine, create_sessionmaker
    from orderatlas.models.base import utcnow
    from orderatlas.retailers.registry import Retailers
    from orderatlas.storage.postgres import PostgresCopyStore

    settings = ctx["settings"]
    ctx.setdefault("clock", utcnow)  # tests pass their own to move time instead of sleeping
    ctx["engine"] = create_engine(settings.database_url, pool_size=settings.worker_max_jobs)
    ctx["sessionmaker"] = create_sessionmaker(ctx["engine"])
    ctx["retailers"] = Retailers(ctx["sessionmaker"], settings, clock=ctx["clock"])
    ctx["copies"] = PostgresCopyStore()
    ctx["http"] = httpx.AsyncClient(follow_redirects=False)


async def _shutdown(ctx: dict[str, Any]) -> None:
    if "http" in ctx:
        await ctx["http"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()


def worker_options(settings: Any, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for arq.Worker. No job result is kept: job arguments carry sealed secrets."""
    from arq import cron

    from orderatlas.idempotency.tasks import purge_idempotency_keys
    from orderatlas.orders.tasks import checkout_order, refresh_due_orders, refresh_order, sweep_stuck_orders
    from orderatlas.storage.tasks import purge_expired_copies
    from orderatlas.webhooks.tasks import deliver_webhook, dispatch_due_webhooks, purge_webhook_history

    sweeps = set(range(0, 60, settings.worker_sweep_every_s))
    options: dict[str, Any] = {
        "functions": [checkout_order, deliver_webhook, refresh_order],
        "cron_jobs": [
            cron(sweep_stuck_orders, second=0, run_at_startup=True),
            cron(dispatch_due_webhooks, second=sweeps, run_at_startup=True),
            cron(refresh_due_orders, second=sweeps, run_at_startup=True),
            cron(purge_idempotency_keys, minute=7, second=0),
            cron(purge_expired_copies, minute=23, second=0),
            cron(purge_webhook_history, hour=3, minute=17, second=0),
        ],
        "redis_settings": redis_settings(settings.redis_url),
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "ctx": {"settings": settings},
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay_s,
        "job_timeout": settings.checkout_job_timeout_s,
        "keep_result": 0,
        "keep_result_forever": False,
        "max_tries": 5,
    }
    options.update(overrides)
    return options
