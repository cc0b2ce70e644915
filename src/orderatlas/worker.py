"""The arq worker: its functions, cron jobs and queues, above every feature it runs.

The features' tasks.py hold the job functions; this module lists them for arq. It imports the
features and nothing imports it but the entry points (cli.py, app.py for `serve`), so the import
graph stays one way: worker -> features -> db -> jobs.

Two queues, each with its own arq Worker and its own slots: checkouts (with the status refresh
and every cron job) on arq's default queue, webhook sends on WEBHOOK_QUEUE. A receiver that
never answers holds a send slot for ORDERATLAS_WEBHOOK_TIMEOUT_S, and only a send slot.
`orderatlas worker` runs both in one process unless told `--queue`.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from typing import Any

import httpx
from arq import Worker, cron
from arq.constants import default_queue_name

from orderatlas.config import Settings
from orderatlas.conversion.registry import Providers
from orderatlas.conversion.tasks import convert_order, poll_conversions, refresh_due_labels
from orderatlas.db import create_engine, create_sessionmaker
from orderatlas.idempotency.tasks import purge_idempotency_keys
from orderatlas.jobs import redis_settings
from orderatlas.models.base import utcnow
from orderatlas.observability.context import carried
from orderatlas.orders.tasks import checkout_order, refresh_due_orders, refresh_order, sweep_stuck_orders
from orderatlas.retailers.registry import Retailers
from orderatlas.storage.postgres import PostgresCopyStore
from orderatlas.storage.tasks import purge_expired_copies
from orderatlas.webhooks.service import WEBHOOK_QUEUE
from orderatlas.webhooks.tasks import deliver_webhook, dispatch_due_webhooks, purge_webhook_history

log = logging.getLogger(__name__)

CHECKOUTS, WEBHOOKS = "checkouts", "webhooks"
QUEUES = (CHECKOUTS, WEBHOOKS)


async def _startup(ctx: dict[str, Any]) -> None:
    settings = ctx["settings"]
    ctx.setdefault("clock", utcnow)  # tests pass their own to move time instead of sleeping
    ctx["engine"] = create_engine(
        settings.database_url, pool_size=ctx.get("pool_size", settings.worker_max_jobs)
    )
    ctx["sessionmaker"] = create_sessionmaker(ctx["engine"])
    ctx["retailers"] = Retailers(ctx["sessionmaker"], settings, clock=ctx["clock"])
    ctx["copies"] = PostgresCopyStore()
    ctx["providers"] = Providers(settings)
    ctx["http"] = httpx.AsyncClient(follow_redirects=False)


async def _shutdown(ctx: dict[str, Any]) -> None:
    if "http" in ctx:
        await ctx["http"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()


def _checkouts(settings: Settings) -> dict[str, Any]:
    sweeps = set(range(0, 60, settings.worker_sweep_every_s))
    return {
        "queue_name": default_queue_name,  # where checkouts have always been queued
        "functions": [
            carried(checkout_order, order_arg=True),
            carried(refresh_order, order_arg=True),
            carried(convert_order, order_arg=True),
        ],
        "cron_jobs": [
            cron(sweep_stuck_orders, second=0, run_at_startup=True),
            cron(dispatch_due_webhooks, second=sweeps, run_at_startup=True),
            cron(refresh_due_orders, second=sweeps, run_at_startup=True),
            cron(poll_conversions, second=sweeps, run_at_startup=True),
            cron(refresh_due_labels, second=sweeps, run_at_startup=True),
            cron(purge_idempotency_keys, minute=7, second=0),
            cron(purge_expired_copies, minute=23, second=0),
            cron(purge_webhook_history, hour=3, minute=17, second=0),
        ],
        "max_jobs": settings.worker_max_jobs,
        "job_timeout": settings.checkout_job_timeout_s,
        "ctx": {"settings": settings},
    }


def _webhooks(settings: Settings) -> dict[str, Any]:
    return {
        "queue_name": WEBHOOK_QUEUE,
        "functions": [carried(deliver_webhook)],
        "cron_jobs": [],
        "max_jobs": settings.webhook_max_jobs,
        # A send is bounded by its own timeout; this only catches a job that hangs elsewhere.
        "job_timeout": int(settings.webhook_lease_s),
        "ctx": {"settings": settings, "pool_size": settings.webhook_max_jobs},
    }


def worker_options(settings: Any, queue: str = CHECKOUTS, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for the arq.Worker of one queue. No job result is kept: job arguments
    carry sealed secrets."""
    options: dict[str, Any] = {
        **(_checkouts(settings) if queue == CHECKOUTS else _webhooks(settings)),
        "redis_settings": redis_settings(settings.redis_url),
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "poll_delay": settings.worker_poll_delay_s,
        "keep_result": 0,
        "keep_result_forever": False,
        "max_tries": 5,
    }
    options.update(overrides)
    return options


def workers(settings: Settings, queues: Sequence[str] = QUEUES, **overrides: Any) -> list[Worker]:
    """One arq Worker per queue, to run in one event loop. They never handle signals themselves:
    arq's handler replaces the loop's, so two of them would leave one deaf (see run())."""
    return [
        Worker(**worker_options(settings, queue, **{"handle_signals": False, **overrides}))
        for queue in queues
    ]


async def run(settings: Settings, queues: Sequence[str] = QUEUES) -> None:
    """`orderatlas worker`: run the queues' workers until SIGINT or SIGTERM, or until one of them
    fails (Redis gone at start-up): then the others stop too, and the process exits with it."""
    running = workers(settings, queues)
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        for worker in running:
            worker.handle_sig(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    tasks = [asyncio.create_task(worker.async_run()) for worker in running]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop(signal.SIGTERM)
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for worker in running:
            await worker.close()


WORKER_RESTART_DELAY_S = 1.0


async def _supervised(settings: Settings, queue: str) -> None:
    while True:
        worker = workers(settings, [queue])[0]
        try:
            await worker.async_run()
            log.warning("the in-process worker of %s stopped; starting it again", queue)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the in-process worker of %s failed (Redis or PostgreSQL away?); restarting", queue)
        finally:
            with contextlib.suppress(Exception):
                await worker.close()
        await asyncio.sleep(WORKER_RESTART_DELAY_S)


async def run_in_process(settings: Settings, queues: Sequence[str] = QUEUES) -> None:
    """The workers of `orderatlas serve`, each started again whenever it stops: arq's main loop
    ends with an exception when Redis goes away (a restart), and nothing else would revive it, so
    accepted orders would wait for ever. Runs until cancelled. (`orderatlas worker` exits instead,
    for its process manager to restart.)"""
    await asyncio.gather(*(_supervised(settings, queue) for queue in queues))
