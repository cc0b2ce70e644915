"""arq jobs for orders: thin wrappers that open units of work and call the service."""

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from arq import Retry
from arq.constants import in_progress_key_prefix, job_key_prefix

from orderatlas.db import unit_of_work
from orderatlas.kit.crypto import unseal
from orderatlas.observability.metrics import CHECKOUT_DURATION
from orderatlas.orders import refresh, service
from orderatlas.orders import statuses as st
from orderatlas.orders.checkout import Secrets, reconcile, run_checkout
from orderatlas.retailers.base import Credentials, PaymentCard, Proxy

log = logging.getLogger(__name__)


def _secrets(sealed: str, order_id: uuid.UUID, email: str, secret_key: str) -> Secrets:
    raw = unseal(sealed, secret_key, context=str(order_id))
    card = raw.get("card")
    return Secrets(
        credentials=Credentials(email=email, password=raw["password"], totp_secret=raw.get("totp_secret")),
        proxy=Proxy.parse(raw["proxy"]) if raw.get("proxy") else None,
        card=PaymentCard(**card) if card else None,
    )


async def checkout_order(ctx: dict[str, Any], order_id: str, sealed: str) -> None:
    """Run one order's checkout. Safe to run twice: the order's state decides what happens."""
    oid = uuid.UUID(order_id)
    try:
        async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
            claim = await service.claim_checkout(session, oid)
        if claim is None:
            log.info("order %s is not awaiting checkout; nothing to do", order_id)
            return
        secrets = _secrets(sealed, oid, claim.plan.account_email, ctx["settings"].secret_key)
        await _complete(ctx, oid, claim, secrets)
    except Exception as exc:
        # A database blip before the claim is simply retried. After it, we cannot know whether the
        # retailer placed the order: the re-run finds it processing and reconciles against the
        # retailer's order history instead of buying again.
        log.exception("checkout of order %s raised; it will be reconciled", order_id)
        raise Retry(defer=ctx["settings"].checkout_retry_delay_s) from exc


async def _complete(
    ctx: dict[str, Any], order_id: uuid.UUID, claim: service.Claim, secrets: Secrets | None
) -> None:
    adapter = ctx["retailers"].get(claim.retailer)
    started = time.perf_counter()
    if claim.resumed:
        outcome = await reconcile(adapter, claim.plan, secrets)
    else:
        assert secrets is not None
        outcome = await run_checkout(adapter, claim.plan, secrets)
    CHECKOUT_DURATION.labels(outcome.status).observe(time.perf_counter() - started)
    secret_key = ctx["settings"].secret_key
    kept = refresh.seal_session(outcome.session, secret_key, order_id) if outcome.session else None
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        await service.record_outcome(session, order_id, outcome, kept_session=kept, now=ctx["clock"]())
    log.info("order %s checkout finished: %s", order_id, outcome.status)


async def sweep_stuck_orders(ctx: dict[str, Any]) -> int:
    """Finish orders left in flight with no job left to finish them (worker start-up and every minute).

    While arq still holds the order's job (queued, or in progress on a live worker) it is left alone:
    arq re-runs a job whose worker died, and the re-run reconciles.
    """
    redis, settings = ctx["redis"], ctx["settings"]
    async with unit_of_work(ctx["sessionmaker"], redis) as session:
        stale = await service.stale_in_flight(
            session,
            processing_for=timedelta(seconds=settings.checkout_stuck_after_s),
            pending_for=timedelta(seconds=settings.checkout_lost_after_s),
        )
    finished = 0
    for order_id, status in stale:
        job_id = service.checkout_job_id(order_id)
        if await redis.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id):
            continue
        try:
            finished += await _sweep_one(ctx, order_id, status)
        except Exception:
            log.exception("sweep could not finish order %s; it will be tried again", order_id)
    if finished:
        log.warning("sweep finished %d order(s) whose checkout job was lost", finished)
    return finished


async def _sweep_one(ctx: dict[str, Any], order_id: uuid.UUID, status: str) -> int:
    if status == st.PENDING:
        async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
            return int(await service.abandon_pending(session, order_id) is not None)
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        claim = await service.claim_checkout(session, order_id)
    if claim is None or not claim.resumed:
        return 0
    await _complete(ctx, order_id, claim, None)  # the sealed secrets went with the lost job
    return 1


async def refresh_due_orders(ctx: dict[str, Any]) -> int:
    """Every 5 s and at start-up: queue a refresh for a bounded batch of orders that are due."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        return await refresh.queue_due(session, ctx["clock"]())


async def refresh_order(ctx: dict[str, Any], order_id: str, claimed_until: str | None = None) -> None:
    """Look one order up at the retailer with its kept session, and record what changed.
    Safe to run twice: a run whose claim is spent (refresh.queue_due) does nothing. Jobs queued
    before claims were passed have none, and are recorded as they come."""
    oid, settings = uuid.UUID(order_id), ctx["settings"]
    claim = datetime.fromisoformat(claimed_until) if claimed_until else None
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        job = await refresh.start(session, oid, settings.secret_key, claim)
    if job is None:
        return
    if job.session is None:
        result = refresh.no_session()
    else:
        try:
            result = await ctx["retailers"].get(job.retailer).track(job.session, job.lookup)
        except Exception as exc:  # a read: it failed, and is retried on the refresh schedule
            log.exception("status lookup of order %s raised", order_id)
            result = refresh.raised(exc)
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        await refresh.record(
            session,
            oid,
            result,
            now=ctx["clock"](),
            copies=ctx["copies"],
            interval_s=settings.tracking_refresh_s,
            claim=claim,
        )
