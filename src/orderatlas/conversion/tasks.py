"""arq jobs for tracking conversion: the poll, one order's conversion, the label refresh."""

import logging
import uuid
from typing import Any

from orderatlas.conversion import poller
from orderatlas.db import unit_of_work

log = logging.getLogger(__name__)


async def poll_conversions(ctx: dict[str, Any]) -> int:
    """Every sweep and at start-up: queue a conversion for a bounded batch of due orders."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        return await poller.queue_due(session, ctx["clock"](), ctx["settings"])


async def convert_order(ctx: dict[str, Any], order_id: str) -> str:
    """Convert one order the poller found due. Safe to run twice: the second finds the label."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        outcome = await poller.auto_convert(
            session,
            uuid.UUID(order_id),
            providers=ctx["providers"],
            settings=ctx["settings"],
            now=ctx["clock"](),
        )
    log.info("automatic conversion of order %s: %s", order_id, outcome)
    return outcome


async def refresh_due_labels(ctx: dict[str, Any]) -> int:
    """Every sweep: follow a bounded batch of labels, active or dropped, until their parcel is done.
    The provider is asked outside any transaction, one label at a time."""
    settings, now = ctx["settings"], ctx["clock"]()
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        due = await poller.claim_due_labels(session, now)
    for label_id in due:
        try:
            async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
                found = await poller.parcel_of(session, label_id)
            if found is None:
                continue
            provider_name, _, parcel = found
            result = await poller.read_status(
                ctx["providers"], provider_name, parcel, settings.conversion_timeout_s
            )
            async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
                await poller.record_status(
                    session, label_id, result, now=ctx["clock"](), interval_s=settings.tracking_refresh_s
                )
        except Exception:  # the lease runs out and the label is taken again
            log.exception("refresh of label %s failed", label_id)
    return len(due)
