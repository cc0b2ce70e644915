"""SQL for the webhook outbox, deliveries and attempts."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from orderatlas.models import Account, ApiKey, WebhookAttempt, WebhookDelivery, WebhookEvent
from orderatlas.models.webhook import PENDING


async def targets_for(
    session: AsyncSession, account_id: uuid.UUID, api_key_id: uuid.UUID | None, test_mode: bool
) -> tuple[str | None, str | None, str | None, str | None]:
    """(account webhook, account discord, key webhook, key discord), the account's of the mode.
    A key belongs to one mode, so its overrides are that mode's already."""
    key = aliased(ApiKey)
    url = getattr(Account, Account.webhook_column("webhook_url", test_mode))
    discord = getattr(Account, Account.webhook_column("discord_webhook_url", test_mode))
    row = (
        await session.execute(
            select(url, discord, key.webhook_url, key.discord_webhook_url)
            .outerjoin(key, key.id == api_key_id)
            .where(Account.id == account_id)
        )
    ).one()
    return row[0], row[1], row[2], row[3]


async def claim(
    session: AsyncSession, delivery_id: uuid.UUID, now: datetime, lease: timedelta
) -> WebhookDelivery | None:
    """Take a due delivery for `lease`; nobody else sends it meanwhile."""
    stmt = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
        )
        .values(locked_until=now + lease)
        .returning(WebhookDelivery)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def event_and_secret(session: AsyncSession, delivery: WebhookDelivery) -> tuple[WebhookEvent, str]:
    """The event, and the secret of its mode: a test event is never signed with the live secret."""
    secret = case((WebhookEvent.livemode, Account.webhook_secret), else_=Account.test_webhook_secret)
    row = (
        await session.execute(
            select(WebhookEvent, secret)
            .join(Account, Account.id == WebhookEvent.account_id)
            .where(WebhookEvent.id == delivery.event_id)
        )
    ).one()
    return row[0], row[1]


async def due(session: AsyncSession, now: datetime, limit: int) -> list[tuple[uuid.UUID, int]]:
    stmt = (
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(
            WebhookDelivery.state == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return [(row.id, row.attempts) for row in await session.execute(stmt)]


async def lock_for_account(
    session: AsyncSession, account_id: uuid.UUID, livemode: bool, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    """The delivery, if it is the account's and of the caller's mode; the other mode's are 404."""
    stmt = (
        select(WebhookDelivery)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.account_id == account_id,
            WebhookEvent.livemode.is_(livemode),
        )
        .with_for_update(of=WebhookDelivery)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def search(
    session: AsyncSession,
    account_id: uuid.UUID,
    livemode: bool,
    *,
    order_id: uuid.UUID | None,
    event: str | None,
    outcome: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[WebhookDelivery, WebhookEvent]], int]:
    conditions = [WebhookDelivery.account_id == account_id, WebhookEvent.livemode.is_(livemode)]
    if order_id is not None:
        conditions.append(WebhookEvent.order_id == order_id)
    if event is not None:
        conditions.append(WebhookEvent.event == event)
    if outcome is not None:
        conditions.append(WebhookDelivery.state == outcome)
    base = select(WebhookDelivery, WebhookEvent).join(
        WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id
    )
    total = await session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(*conditions)
    )
    rows = await session.execute(
        base.where(*conditions)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
        .offset(offset)
    )
    return [(row[0], row[1]) for row in rows], int(total or 0)


async def attempts_of(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    found: dict[uuid.UUID, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
        )
        for attempt in rows:
            found[attempt.delivery_id].append(attempt)
    return found


async def purge_finished_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete old events none of whose deliveries is still pending (deliveries and attempts cascade)."""
    still_pending = exists().where(
        WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.state == PENDING
    )
    result = await session.execute(
        delete(WebhookEvent).where(WebhookEvent.created_at < cutoff, ~still_pending)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
