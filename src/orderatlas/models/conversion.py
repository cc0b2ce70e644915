"""Tracking labels minted by the conversion provider: the order's current one and every dropped one."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from orderatlas.models.base import Base, CreatedAt, UUIDPk

ACTIVE, DROPPED = "active", "dropped"


class TrackingLabel(UUIDPk, CreatedAt, Base):
    __tablename__ = "tracking_labels"
    __table_args__ = (
        # One label in use per order, whatever races: a second convert waits on this and loses.
        Index(
            "uq_tracking_labels_active_order",
            "order_id",
            unique=True,
            postgresql_where=text("state = 'active'"),
        ),
        Index("uq_tracking_labels_provider_number", "provider", "number", unique=True),
        # The label refresh reads the due end of this; labels nobody refreshes are not in it.
        Index(
            "ix_tracking_labels_next_refresh_at",
            "next_refresh_at",
            postgresql_where=text("next_refresh_at IS NOT NULL"),
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )
    test_mode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    provider: Mapped[str] = mapped_column(String(50), nullable=False)
    number: Mapped[str] = mapped_column(String(100), nullable=False)
    carrier: Mapped[str] = mapped_column(String(50), nullable=False, default="", server_default="")
    ship_from: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=ACTIVE)  # active | dropped
    # What the provider last said of the parcel behind the label (pre_transit ... delivered).
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="pre_transit")
    dropped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # None: refreshed no more (its parcel was delivered or cancelled).
    next_refresh_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
