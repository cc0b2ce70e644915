"""arq jobs for webhooks: send one delivery, and the sweep that finds whatever is due."""

import logging
import uuid
from typing import Any

from orderatlas.db import unit_of_work
from orderatlas.models.webhook import TARGET_WEBHOOK
from orderatlas.observability.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_LATENCY
from orderatlas.webhooks import client, service

log = logging.getLogger(__name__)

SWEEP_BATCH = 1000


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str) -> None:
    settings = ctx["settings"]
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        outgoing = await service.claim(session, uuid.UUID(delivery_id), settings)
    if outgoing is None:
        return  # delivered, not due yet, or in another worker's hands
    if outgoing.unrenderable:
        await _record(
            ctx, outgoing, client.Attempt(0, 0, error="the event could not be rendered", permanent=True)
        )
        return
    try:
        result = await client.post(
            ctx["http"],
            outgoing.url,
            outgoing.body,
            outgoing.headers,
            pin=outgoing.target == TARGET_WEBHOOK,  # Discord URLs are pinned to Discord's hosts already
            allow_private=settings.webhook_allow_private_networks,
            use_dns=settings.webhook_resolve_dns,
            timeout_s=settings.webhook_timeout_s,
            dns_timeout_s=settings.dns_timeout_s,
        )
    except Exception as exc:
        # Whatever went wrong is one failed attempt on the retry schedule. Left unrecorded, the
        # delivery would stay pending and be sent again after every lease, for ever.
        log.exception("webhook delivery %s: unexpected error while sending", delivery_id)
        result = client.Attempt(0, 0, error=f"unexpected error: {type(exc).__name__}")
    await _record(ctx, outgoing, result)
    # Counted once the attempt is recorded; an event that could not be rendered was never sent.
    outcome = "delivered" if result.ok else ("rejected" if result.status else "unreachable")
    WEBHOOK_ATTEMPTS.labels(outgoing.target, outcome).inc()
    WEBHOOK_LATENCY.labels(outgoing.target).observe(result.duration_ms / 1000)
    log.info(
        "webhook delivery %s attempt %d: %s", delivery_id, outgoing.number, result.status or result.error
    )


async def _record(ctx: dict[str, Any], outgoing: service.Outgoing, result: client.Attempt) -> None:
    """Record the attempt; if even that fails (a body the database refuses), record it bare, so
    the schedule still moves on. A database outage fails both: the lease runs out and the sweep
    sends again once the database is back."""
    try:
        async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
            await service.record_attempt(session, outgoing, result, ctx["settings"])
    except Exception:
        log.exception("webhook delivery %s: recording the attempt failed", outgoing.delivery_id)
        bare = client.Attempt(result.status, result.duration_ms, error="the attempt could not be recorded")
        async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
            await service.record_attempt(session, outgoing, bare, ctx["settings"])


async def dispatch_due_webhooks(ctx: dict[str, Any]) -> int:
    """Every few seconds and at start-up: queue a send for whatever is due and in nobody's hands
    (retries, and what a dead worker or a lost job left behind). The sends are ordinary jobs, so
    the worker's max_jobs bounds them and a slow receiver holds up only its own sends."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        return await service.queue_due(session, SWEEP_BATCH)


async def purge_webhook_history(ctx: dict[str, Any]) -> int:
    """Daily: the delivery log keeps ORDERATLAS_WEBHOOK_RETENTION_DAYS of finished events."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        purged = await service.purge_history(session, ctx["settings"])
    log.info("purged %d finished webhook events", purged)
    return purged
