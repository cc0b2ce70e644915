"""Webhook rules: write events to the outbox with the change that causes them, send, retry, replay.

Events are rows written in the caller's transaction, so a rolled-back change sends nothing and a
committed one is never lost: a job is queued after the commit for the first attempt, and a sweep
every few seconds sends whatever else is due (retries, and anything a dead worker or a lost job
left behind). Delivery is at least once; receivers deduplicate on the event id (webhook-id).
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.config import Settings
from orderatlas.errors import Conflict, NotFound
from orderatlas.jobs import enqueue_after_commit
from orderatlas.models import Order, WebhookAttempt, WebhookDelivery, WebhookEvent
from orderatlas.models.base import utcnow
from orderatlas.models.webhook import DELIVERED, FAILED, PENDING, TARGET_DISCORD, TARGET_WEBHOOK
from orderatlas.observability import context
from orderatlas.webhooks import repository
from orderatlas.webhooks.client import Attempt
from orderatlas.webhooks.payloads import discord_embed, order_payload
from orderatlas.webhooks.signing import USER_AGENT, signature_headers

log = logging.getLogger(__name__)

DELIVER_JOB = "deliver_webhook"
# Sends have a queue and worker slots of their own (worker.py): a receiver that never answers
# holds up only other sends, never a checkout.
WEBHOOK_QUEUE = "orderatlas:webhooks"


Targets = tuple[str | None, str | None, str | None, str | None]
_TARGETS = "orderatlas.webhook_targets"


def remember_targets(
    session: AsyncSession,
    account_id: uuid.UUID,
    api_key_id: uuid.UUID | None,
    test_mode: bool,
    targets: Targets,
) -> None:
    """Targets a statement of this transaction read already (the checkout's order lock joins them
    in): emit_order_event then needs no query of its own for that account, key and mode. The
    account's targets must be the mode's (test_webhook_url ... for a test order)."""
    session.info.setdefault(_TARGETS, {})[(account_id, api_key_id, test_mode)] = targets


async def emit_order_event(
    session: AsyncSession,
    order: Order,
    event: str,
    previous_status: str | None,
    *,
    targets: Targets | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record an order event and its deliveries in the caller's transaction. `targets` (account
    webhook, account Discord, key webhook, key Discord), when the caller read them already, saves
    the query for them; they must be the order's account's and key's. `extra`: the event's own
    fields (aqualine.skipped's skip_reason ...)."""
    if targets is None:
        targets = session.info.get(_TARGETS, {}).get((order.account_id, order.api_key_id, order.test_mode))
    if targets is None:
        targets = await repository.targets_for(session, order.account_id, order.api_key_id, order.test_mode)
    account_url, account_discord, key_url, key_discord = targets
    record = WebhookEvent(
        id=uuid.uuid4(),
        account_id=order.account_id,
        order_id=order.id,
        event=event,
        livemode=not order.test_mode,
        payload=order_payload(event, order, previous_status, utcnow(), extra),
    )
    session.add(record)
    # A per-order URL wins over the key's override, which wins over the account's.
    targets = {
        TARGET_WEBHOOK: order.webhook_url or key_url or account_url,
        TARGET_DISCORD: key_discord or account_discord,
    }
    for target, url in targets.items():
        if url:
            delivery = WebhookDelivery(
                id=uuid.uuid4(), event=record, account_id=order.account_id, target=target, url=url
            )
            session.add(delivery)
            enqueue_after_commit(session, DELIVER_JOB, str(delivery.id), queue=WEBHOOK_QUEUE)


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, ready to send."""

    delivery_id: uuid.UUID
    target: str
    url: str
    body: bytes
    headers: dict[str, str]
    number: int  # this attempt's number, counting every attempt ever made
    cycle: int  # this attempt's number since the last (re)delivery request
    lease: datetime  # the claim's token: the outcome counts only while the delivery is still ours

    @property
    def unrenderable(self) -> bool:
        return not self.headers


def _render(delivery: WebhookDelivery, event: WebhookEvent, secret: str) -> tuple[bytes, dict[str, str]]:
    if delivery.target == TARGET_DISCORD:
        body = json.dumps(discord_embed(event.payload), separators=(",", ":")).encode()
        return body, {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    body = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False).encode()
    return body, signature_headers(secret, str(event.id), int(time.time()), body)


async def claim(session: AsyncSession, delivery_id: uuid.UUID, settings: Settings) -> Outgoing | None:
    delivery = await repository.claim(
        session, delivery_id, utcnow(), timedelta(seconds=settings.webhook_lease_s)
    )
    if delivery is None:
        return None
    event, secret = await repository.event_and_secret(
        session, delivery
    )  # the secret as of now: rotation bites
    # A retry queued by the sweep carries no context: its log lines still name the order.
    context.bind(account_id=event.account_id, order_id=event.order_id)
    try:
        body, headers = _render(delivery, event, secret)
    except Exception:  # a payload that cannot be rendered must not leave the lease to expire for ever
        log.exception("webhook delivery %s: the event could not be rendered", delivery.id)
        body, headers = b"", {}
    assert delivery.locked_until is not None
    return Outgoing(
        delivery.id,
        delivery.target,
        delivery.url,
        body,
        headers,
        delivery.attempts + 1,
        delivery.cycle_attempts + 1,
        delivery.locked_until,
    )


async def record_attempt(
    session: AsyncSession, outgoing: Outgoing, result: Attempt, settings: Settings
) -> None:
    """Log the attempt; mark delivered, schedule the next try, or give up when the schedule runs out."""
    now = utcnow()
    session.add(
        WebhookAttempt(
            delivery_id=outgoing.delivery_id,
            number=outgoing.number,
            attempted_at=now,
            response_status=result.status,
            duration_ms=result.duration_ms,
            # PostgreSQL text cannot hold NUL: a receiver answering one must not break the insert.
            response_body=result.body.replace("\x00", ""),
            error=result.error.replace("\x00", ""),
        )
    )
    delivery = await session.get(
        WebhookDelivery, outgoing.delivery_id, with_for_update=True, populate_existing=True
    )
    if delivery is None or delivery.locked_until != outgoing.lease:
        return  # the lease ran out or a redelivery restarted it: whoever holds it now decides
    delivery.attempts, delivery.cycle_attempts, delivery.locked_until = outgoing.number, outgoing.cycle, None
    schedule = settings.webhook_retry_schedule_s
    if result.ok:
        delivery.state, delivery.delivered_at = DELIVERED, now
    elif result.permanent or outgoing.cycle > len(schedule):
        delivery.state = FAILED
    else:
        # The sweep (every few seconds) sends it once due; Retry-After can only push that later.
        delay = max(float(schedule[outgoing.cycle - 1]), result.retry_after_s or 0.0)
        delivery.next_attempt_at = now + timedelta(seconds=delay)


async def purge_history(session: AsyncSession, settings: Settings) -> int:
    return await repository.purge_finished_before(
        session, utcnow() - timedelta(days=settings.webhook_retention_days)
    )


async def queue_due(session: AsyncSession, limit: int) -> int:
    """Queue a send for each due delivery nobody holds. The job id names the attempt, so a sweep
    that comes round again before the job ran does not queue it twice."""
    due = await repository.due(session, utcnow(), limit)
    for delivery_id, attempts in due:
        enqueue_after_commit(
            session,
            DELIVER_JOB,
            str(delivery_id),
            job_id=f"webhook:{delivery_id}:{attempts + 1}",
            queue=WEBHOOK_QUEUE,
        )
    return len(due)


async def redeliver(
    session: AsyncSession, account_id: uuid.UUID, livemode: bool, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send again, now, with the same webhook-id, and a fresh retry schedule."""
    delivery = await repository.lock_for_account(session, account_id, livemode, delivery_id)
    if delivery is None:
        raise NotFound(f"webhook delivery {delivery_id} not found")
    if delivery.locked_until is not None and delivery.locked_until > utcnow():
        raise Conflict(
            "this delivery is being sent right now; try again in a moment", code="delivery_in_flight"
        )
    delivery.state, delivery.cycle_attempts, delivery.delivered_at = PENDING, 0, None
    delivery.next_attempt_at, delivery.locked_until = utcnow(), None
    enqueue_after_commit(session, DELIVER_JOB, str(delivery.id), queue=WEBHOOK_QUEUE)
    return delivery


async def deliveries(
    session: AsyncSession, account_id: uuid.UUID, livemode: bool, *, limit: int, offset: int, **filters: Any
) -> tuple[list[tuple[WebhookDelivery, WebhookEvent, list[WebhookAttempt]]], int]:
    """The caller's mode's deliveries only: a test key never reads a live payload."""
    rows, total = await repository.search(
        session, account_id, livemode, limit=limit, offset=offset, **filters
    )
    attempts = await repository.attempts_of(session, [delivery.id for delivery, _ in rows])
    return [(delivery, event, attempts[delivery.id]) for delivery, event in rows], total


async def get_delivery(
    session: AsyncSession, account_id: uuid.UUID, livemode: bool, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, WebhookEvent, list[WebhookAttempt]]:
    delivery = await repository.lock_for_account(session, account_id, livemode, delivery_id)
    if delivery is None:
        raise NotFound(f"webhook delivery {delivery_id} not found")
    event = await session.get(WebhookEvent, delivery.event_id)
    assert event is not None
    return delivery, event, (await repository.attempts_of(session, [delivery.id]))[delivery.id]
