"""The automatic side of conversion: the poller that converts eligible orders, the aqualine.skipped
events it sends when it cannot (once per reason), and the refresh of every label until delivered.

Every ORDERATLAS_CONVERSION_POLL_S (+-25%) each eligible order without a label is tried again; an
order first seen is tried at a random point of its first interval, so a backlog spreads out.
"""

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.config import Settings
from orderatlas.conversion import repository
from orderatlas.conversion.base import FINAL_LABEL_STATUSES, LABEL_REJECTED, Parcel, StatusResult
from orderatlas.conversion.registry import ProviderNotConfigured, Providers
from orderatlas.conversion.service import PROVIDER_NOT_CONFIGURED, Skip, attempt, supported
from orderatlas.jobs import enqueue_after_commit
from orderatlas.models import Account, Order, TrackingLabel
from orderatlas.orders import lifecycle
from orderatlas.orders import repository as orders_repository
from orderatlas.orders.refresh import next_refresh
from orderatlas.webhooks.payloads import AQUALINE_SKIPPED
from orderatlas.webhooks.service import emit_order_event

log = logging.getLogger(__name__)

CONVERT_JOB = "convert_order"
POLL_BATCH = 200  # orders claimed per poll (each sweep: every 5 s by default, 40 a second)
LABEL_BATCH = 50  # labels refreshed per sweep
LABEL_LEASE = timedelta(minutes=10)
# Skips the poller does not retry: trying again cannot help. A manual convert still may.
TERMINAL_SKIPS = (LABEL_REJECTED,)


async def queue_due(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """One poll: claim a bounded batch of due orders whose convert_tracking resolves to true,
    schedule each one's next try, and queue a conversion job for each one seen before. Returns the
    jobs queued."""
    claimed = await repository.claim_due(session, now, settings.conversion_poll_s, TERMINAL_SKIPS, POLL_BATCH)
    queued = 0
    for row in claimed:
        if not row.first_sight:
            # One id per order: a poll that comes round while its job still waits queues no second.
            enqueue_after_commit(session, CONVERT_JOB, str(row.order_id), job_id=f"convert:{row.order_id}")
            queued += 1
    return queued


async def convert_tracking_for(session: AsyncSession, order: Order, account: Account) -> bool:
    """The order's own value, else its API key's, else the account's."""
    if order.convert_tracking is not None:
        return order.convert_tracking
    key_value = await repository.key_convert_tracking(session, order.api_key_id)
    return key_value if key_value is not None else account.convert_tracking


def _eligible(order: Order) -> bool:
    return (
        not order.aqualine_tracking
        and order.status in repository.POLLED_STATUSES
        and supported(order.platform)
        and order.aqualine_skip_reason not in TERMINAL_SKIPS
    )


async def auto_convert(
    session: AsyncSession, order_id: uuid.UUID, *, providers: Providers, settings: Settings, now: datetime
) -> str:
    """The poller's conversion of one order; safe to run twice (the lock and the label decide).
    Returns what happened: converted, skipped:<reason>, or ineligible."""
    order = await orders_repository.lock(session, order_id)  # waits out a manual convert
    if order is None or not _eligible(order):
        return "ineligible"
    account = await session.get(Account, order.account_id)
    assert account is not None
    if not await convert_tracking_for(session, order, account):
        return "ineligible"
    try:
        provider = providers.for_order(order.test_mode)
    except ProviderNotConfigured as exc:
        outcome: TrackingLabel | Skip = Skip(
            PROVIDER_NOT_CONFIGURED, f"Aquiline conversion skipped: {exc.message}", True
        )
    else:
        outcome = await attempt(session, order, account, provider, settings=settings, now=now)
    if isinstance(outcome, Skip):
        await record_skip(session, order, outcome)
        return f"skipped:{outcome.reason}"
    return "converted"


async def record_skip(session: AsyncSession, order: Order, skip: Skip) -> bool:
    """aqualine.skipped and a note, only when the reason differs from the last one remembered for
    the order (a conversion forgets it): a stuck order does not notify on every poll."""
    if order.aqualine_skip_reason == skip.reason:
        return False
    order.aqualine_skip_reason = skip.reason
    order.notes = [*order.notes, skip.message]
    await emit_order_event(session, order, AQUALINE_SKIPPED, None, extra=skip.payload)
    return True


async def claim_due_labels(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    return await repository.claim_due_labels(session, now, now + LABEL_LEASE, LABEL_BATCH)


async def parcel_of(session: AsyncSession, label_id: uuid.UUID) -> tuple[str, bool, Parcel] | None:
    """(provider name, test mode, what the provider is told) of a label still being refreshed."""
    found = await repository.label_with_order(session, label_id)
    if found is None:
        return None
    label, order = found
    parcel = Parcel(
        label.number, str(order.id), order.status, order.tracking_number or "", order.carrier or ""
    )
    return label.provider, label.test_mode, parcel


async def read_status(
    providers: Providers, provider_name: str, parcel: Parcel, timeout_s: float
) -> StatusResult:
    try:
        return await asyncio.wait_for(providers.get(provider_name).status(parcel), timeout_s)
    except Exception:  # a read: it is tried again on the next refresh
        log.exception("label %s status lookup failed", parcel.number)
        return StatusResult()


async def record_status(
    session: AsyncSession, label_id: uuid.UUID, result: StatusResult, *, now: datetime, interval_s: float
) -> None:
    """Keep what the provider said, and stop once the label's parcel, or its order, is done."""
    found = await repository.label_with_order(session, label_id)
    if found is None:
        return
    label, order = found
    if result.status:
        label.status, label.refreshed_at = result.status[:32], now
    order_done = order.status not in lifecycle.REFRESHED_STATUSES
    done = label.status in FINAL_LABEL_STATUSES or (order_done and result.status is not None)
    label.next_refresh_at = None if done else next_refresh(now, interval_s)
