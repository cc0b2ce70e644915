"""The arq worker: its functions, cron jobs and queues, above every feature it runs.

The features' tasks.py hold the job functions; this module lists them for arq. It imports the
features and nothing imports it but the entry points (cli.py, app.py for `serve`), so the import
graph stays one way: worker -> features -> db -> jobs.
"""

from typing import Any

import httpx
from arq import cron

from orderatlas.db import create_engine, create_sessionmaker
from orderatlas.idempotency.tasks import purge_idempotency_keys
from orderatlas.jobs import redis_settings
from orderatlas.models.base import utcnow
from orderatlas.orders.tasks import checkout_order, refresh_due_orders, refresh_order, sweep_stuck_orders
from orderatlas.retailers.registry import Retailers
from orderatlas.storage.postgres import PostgresCopyStore
from orderatlas.storage.tasks import purge_expired_copies
from orderatlas.webhooks.tasks import deliver_webhook, dispatch_due_webhooks, purge_webhook_history


async def _startup(ctx: dict[str, Any]) -> None:
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
