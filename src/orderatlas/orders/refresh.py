"""Keeping placed orders current: the refresh schedule, the kept retailer session, and observe(),
the one path that records what the retailer's order page says. The refresh job, POST
/v1/order/:id/status and the sandbox's advance helper all go through observe().

An order entering a placed or shipping status is due at once. After each lookup it is due again
after ORDERATLAS_TRACKING_REFRESH_S +-25% (so orders placed together drift apart), or sooner when
the retailer says when its next step comes. A failed lookup changes nothing on the order and is
retried after 1/96, 1/16 and 1/4 of the interval, then once per interval; the third failure in a
row adds one note asking the client to call POST /v1/order/:id/status.
"""

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.jobs import enqueue_after_commit
from orderatlas.kit.crypto import seal, unseal
from orderatlas.models import Order
from orderatlas.orders import lifecycle, repository
from orderatlas.retailers.base import (
    RETAILER_UNAVAILABLE,
    SESSION_EXPIRED,
    Failure,
    OrderLookup,
    Session,
    Tracking,
    TrackingResult,
)
from orderatlas.storage.base import HTML, INVOICES, ORDER_PAGES, CopyStore
from orderatlas.storage.links import new_key

log = logging.getLogger(__name__)

REFRESH_JOB = "refresh_order"
SWEEP_BATCH = 500  # per sweep, every 5 s: 100 orders a second, 2.9 million per 8 hours
JITTER = 0.25
BACKOFF_FRACTIONS = (1 / 96, 1 / 16, 1 / 4)
NOTE_AFTER_FAILURES = 3
MIN_GAP = timedelta(seconds=1)
# A claimed order whose job never ran (lost, or its worker died) is due again after this.
CLAIM_LEASE = timedelta(minutes=10)
INVOICE_KEPT = timedelta(days=14)
# An order page nobody refreshes any more (its order deleted mid-refresh ...) goes after this.
ORDER_PAGE_UNREFRESHED_KEPT = timedelta(days=30)
MAX_COPY_BYTES = 2 * 1024 * 1024


def _jittered(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311


def next_refresh(now: datetime, interval_s: float, hint: datetime | None = None) -> datetime:
    regular = now + _jittered(interval_s)
    if hint is not None and hint < regular:
        return max(hint, now + MIN_GAP)
    return regular


def retry_after_failure(now: datetime, interval_s: float, failures: int) -> datetime:
    fraction = BACKOFF_FRACTIONS[failures - 1] if failures <= len(BACKOFF_FRACTIONS) else 1.0
    return now + max(_jittered(interval_s * fraction), MIN_GAP)


def _session_context(order_id: uuid.UUID) -> str:
    # Not the checkout job's context: a sealed job payload can never be opened as a session.
    return f"retailer-session:{order_id}"


def seal_session(session: Session, secret_key: str, order_id: uuid.UUID) -> str:
    payload = {"email": session.account_email, "platform": session.platform, "fresh": session.fresh}
    return seal({**payload, "token": session.token}, secret_key, context=_session_context(order_id))


def open_session(sealed: str | None, secret_key: str, order_id: uuid.UUID) -> Session | None:
    """None when nothing is kept, or it was sealed under another ORDERATLAS_SECRET_KEY."""
    if not sealed:
        return None
    try:
        raw = unseal(sealed, secret_key, context=_session_context(order_id))
    except (InvalidTag, ValueError):
        return None
    return Session(raw["email"], raw["platform"], bool(raw["fresh"]), raw["token"])


def lookup_for(order: Order) -> OrderLookup:
    return OrderLookup(order.platform, order.platform_order_id, "" if order.imported else str(order.id))


async def queue_due(session: AsyncSession, now: datetime) -> int:
    """The sweep: claim a bounded batch of due orders and queue one refresh job for each.

    The job carries its claim (the lease it set): a run that finds the order's next_refresh_at
    moved on (recorded already, rescheduled by POST /status, claimed again after the lease) is
    stale and does nothing, so a job arq runs twice looks the order up once.
    """
    lease = now + CLAIM_LEASE
    due = await repository.claim_due_for_refresh(session, now, lease, SWEEP_BATCH)
    for order_id in due:
        # One id per order: while its job is still queued (workers behind), arq refuses a second.
        enqueue_after_commit(
            session, REFRESH_JOB, str(order_id), lease.isoformat(), job_id=f"refresh:{order_id}"
        )
    return len(due)


def _claim_spent(order: Order, claim: datetime | None) -> bool:
    return claim is not None and order.next_refresh_at != claim


@dataclass(frozen=True)
class RefreshJob:
    retailer: str
    lookup: OrderLookup
    session: Session | None


async def start(
    session: AsyncSession, order_id: uuid.UUID, secret_key: str, claim: datetime | None = None
) -> RefreshJob | None:
    order = await repository.get(session, order_id)
    if order is None or order.status not in lifecycle.REFRESHED_STATUSES or _claim_spent(order, claim):
        return None
    kept = open_session(order.retailer_session, secret_key, order.id)
    return RefreshJob(order.retailer, lookup_for(order), kept)


def no_session() -> TrackingResult:
    return TrackingResult(failure=Failure(SESSION_EXPIRED, "no retailer session is kept for this order"))


def raised(exc: Exception) -> TrackingResult:
    return TrackingResult(failure=Failure(RETAILER_UNAVAILABLE, f"the lookup raised {type(exc).__name__}"))


async def record(
    session: AsyncSession,
    order_id: uuid.UUID,
    result: TrackingResult,
    *,
    now: datetime,
    copies: CopyStore,
    interval_s: float,
    claim: datetime | None = None,
) -> Order | None:
    """Record one refresh: what the retailer said, or one more failure and the retry."""
    order = await repository.lock(session, order_id)
    if order is None or order.status not in lifecycle.REFRESHED_STATUSES or _claim_spent(order, claim):
        return None  # it moved on (a client call, another run, deletion) while we looked
    if result.tracking is None:
        failure = result.failure or Failure(RETAILER_UNAVAILABLE, "the retailer answered nothing")
        order.refresh_failures += 1
        order.next_refresh_at = retry_after_failure(now, interval_s, order.refresh_failures)
        if order.refresh_failures != NOTE_AFTER_FAILURES:
            # Bookkeeping only: a client syncing by updated_at (GET /v1/orders) must not see a change.
            repository.keep_updated_at(order)
        else:
            order.notes = [
                *order.notes,
                f"automatic status refresh failed {NOTE_AFTER_FAILURES} times in a row ({failure.message}); "
                f"call POST /v1/order/{order.id}/status with the account credentials to refresh it",
            ]
        log.info(
            "refresh of order %s failed (%s), %d in a row", order.id, failure.code, order.refresh_failures
        )
        return order
    await observe(session, order, result.tracking, now=now, copies=copies)
    reschedule(order, result.tracking, now=now, interval_s=interval_s)
    return order


def reschedule(order: Order, tracking: Tracking, *, now: datetime, interval_s: float) -> None:
    """After a successful lookup: the failure streak ends and the next refresh is planned."""
    order.refresh_failures = 0
    if order.status in lifecycle.REFRESHED_STATUSES:
        order.next_refresh_at = next_refresh(now, interval_s, tracking.next_change_at)


async def observe(
    session: AsyncSession, order: Order, tracking: Tracking, *, now: datetime, copies: CopyStore
) -> bool:
    """Record what the order page says: tracking, delivery window, copies, and the status when the
    machine allows the move. A status behind the order's own (the client pushed tracking before
    the retailer showed it) is not a move, and is left alone. Returns whether the status moved."""
    if tracking.tracking_number and not order.tracking_number:
        order.tracking_number = tracking.tracking_number[:100]
        order.carrier = order.carrier or tracking.carrier[:50] or None
    if tracking.est_delivery_min is not None:
        order.est_delivery_min = tracking.est_delivery_min
    if tracking.est_delivery_max is not None:
        order.est_delivery_max = tracking.est_delivery_max
    await _keep_copies(session, order, tracking, now, copies)
    if tracking.status == order.status or not lifecycle.can_move(order.status, tracking.status):
        return False
    return await lifecycle.move(session, order, tracking.status, now=now, copies=copies)


async def _keep_copies(
    session: AsyncSession, order: Order, tracking: Tracking, now: datetime, copies: CopyStore
) -> None:
    """The invoice is copied once (it does not change); the order page on every lookup, under the
    same key, so order_html_url stays the same link."""
    invoice = (tracking.invoice_html or "").encode()
    if invoice and not order.invoice_copy and len(invoice) <= MAX_COPY_BYTES:
        key = new_key(INVOICES)
        await copies.put(session, key, invoice, HTML, now + INVOICE_KEPT)
        order.invoice_copy, order.invoice_fetched_at = key, now
    page = (tracking.order_html or "").encode()
    if page and len(page) <= MAX_COPY_BYTES:
        key = order.order_html_copy or new_key(ORDER_PAGES)
        followed = order.status in lifecycle.REFRESHED_STATUSES
        kept = ORDER_PAGE_UNREFRESHED_KEPT if followed else lifecycle.ORDER_PAGE_KEPT
        await copies.put(session, key, page, HTML, now + kept)
        order.order_html_copy, order.order_html_updated_at = key, now
