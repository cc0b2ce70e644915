"""The webhook outbox: events written with the change that causes them, and their deliveries.

An event is one thing that happened to an order (its id is the `webhook-id` every retry and
redelivery carries). A delivery is that event on its way to one target: the client's webhook URL
or its Discord channel. An attempt is one POST of a delivery.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, SmallInteger, String, Text, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderatlas.models.base import Base, CreatedAt, UUIDPk, utcnow

TARGET_WEBHOOK = "webhook"
TARGET_DISCORD = "discord"
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class WebhookEvent(UUIDPk, CreatedAt, Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        # The daily purge takes the old end of this.
        Index("ix_webhook_events_created_at", "created_at"),
        Index("ix_webhook_events_account_id_livemode", "account_id", "livemode"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    # Not a foreign key: an event outlives the order it describes (orders can be deleted).
    order_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # False for test-mode events: signed with the test secret, shown only to test keys.
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())


class WebhookDelivery(UUIDPk, CreatedAt, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_webhook_deliveries_account_id_created_at", "account_id", "created_at"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True, nullable=False
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )
    target: Mapped[str] = mapped_column(String(16), nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    # Attempts made since the last (re)delivery request: the retry schedule counts these.
    cycle_attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    event: Mapped[WebhookEvent] = relationship(lazy="raise")


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True, nullable=False
    )
    number: Mapped[int] = mapped_column(nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    response_status: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # 0: no response
    duration_ms: Mapped[int] = mapped_column(nullable=False)
    response_body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
