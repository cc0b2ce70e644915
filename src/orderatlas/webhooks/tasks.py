"""arq jobs for webhooks: send one delivery, and the sweep that finds whatever is due."""

import asyncio
import logging
import uuid
from typing import Any

from orderatlas.db import unit_of_work
from orderatlas.models.webhook import TARGET_WEBHOOK
from orderatlas.webhooks import client, service

log = logging.getLogger(__name__)

SWEEP_BATCH = 100
SWEEP_CONCURRENCY = 20
SWEEP_LOCK = "orderatlas:webhook-sweep"
# Held for one sweep: at most SWEEP_BATCH / SWEEP_CONCURRENCY rounds of one send each. A sweeper
# that dies holds it no longer than this.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str) -> None:
    settings = ctx["settings"]
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        outgoing = await service.claim(session, uuid.UUID(delivery_id), settings)
    if outgoing is None:
        return  # delivered, not due yet, or in another worker's hands
    result = await client.post(
        ctx["http"],
        outgoing.url,
        outgoing.body,
        outgoing.headers,
        pin=outgoing.target == TARGET_WEBHOOK,  # Discord URLs are pinned to Discord's hosts already
        allow_private=settings.webhook_allow_private_networks,
        use_dns=settings.webhook_resolve_dns,
        timeout_s=settings.webhook_timeout_s,
    )
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        await service.record_attempt(session, outgoing, result, settings)
    log.info(
        "webhook delivery %s attempt %d: %s", delivery_id, outgoing.number, result.status or result.error
    )


async def dispatch_due_webhooks(ctx: dict[str, Any]) -> int:
    """Every few seconds and at start-up: send what is due and in nobody's hands.

    One sweep at a time across all workers: a slow receiver must not let sweeps pile up."""
    redis = ctx["redis"]
    token = uuid.uuid4().hex
    ttl_s = int(ctx["settings"].webhook_timeout_s * SWEEP_BATCH / SWEEP_CONCURRENCY) + 15
    if not await redis.set(SWEEP_LOCK, token, ex=ttl_s, nx=True):
        return 0
    try:
        return await _sweep(ctx)
    finally:
        await redis.eval(_RELEASE, 1, SWEEP_LOCK, token)


async def _sweep(ctx: dict[str, Any]) -> int:
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        due = await service.due(session, SWEEP_BATCH)
    gate = asyncio.Semaphore(SWEEP_CONCURRENCY)

    async def one(delivery_id: uuid.UUID) -> None:
        async with gate:
            try:
                await deliver_webhook(ctx, str(delivery_id))
            except Exception:
                log.exception("webhook delivery %s could not be sent; it stays due", delivery_id)

    await asyncio.gather(*(one(d) for d in due))
    return len(due)


async def purge_webhook_history(ctx: dict[str, Any]) -> int:
    """Daily: the delivery log keeps ORDERATLAS_WEBHOOK_RETENTION_DAYS of finished events."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        purged = await service.purge_history(session, ctx["settings"])
    log.info("purged %d finished webhook events", purged)
    return purged
