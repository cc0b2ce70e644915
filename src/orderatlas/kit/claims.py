"""A sweep's claim: take a batch of due rows with SKIP LOCKED and lease them, in one statement."""

from datetime import datetime
from typing import Any

from sqlalchemy import Update, select, update
from sqlalchemy.orm import InstrumentedAttribute


def lease_due(
    model: Any,
    due_at: InstrumentedAttribute[Any],
    now: datetime,
    lease_until: datetime,
    limit: int,
    **values: Any,
) -> Update:
    """UPDATE up to `limit` rows of `model` whose `due_at` has come, longest overdue first, pushing
    `due_at` to `lease_until` so no other sweep takes them meanwhile, RETURNING their ids.

    SKIP LOCKED lets two sweeps at once split the work instead of queueing behind each other. The
    batch is a MATERIALIZED CTE, not `id IN (subquery)`: PostgreSQL may run a LIMIT ... SKIP LOCKED
    subquery more than once inside an UPDATE and then claim more than `limit` rows, or rows that
    are not the longest overdue."""
    batch = (
        select(model.id)
        .where(due_at <= now)
        .order_by(due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    return (
        update(model)
        .where(model.id == batch.c.id)
        .values({due_at.key: lease_until, **values})
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
