"""Orders, their line items and their status history."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderatlas.models.base import Base, CreatedAt, UUIDPk, utcnow

Money = Numeric(12, 2)


class Order(UUIDPk, CreatedAt, Base):
    __tablename__ = "orders"
    # Migration 0005 also builds two GIN indexes SQLAlchemy cannot describe here: the trigram index
    # the dashboard search uses (see orders/repository.py) and one on metadata.
    __table_args__ = (
        Index("ix_orders_account_id_test_mode_created_at", "account_id", "test_mode", "created_at", "id"),
        Index("ix_orders_account_id_test_mode_updated_at", "account_id", "test_mode", "updated_at", "id"),
        Index("ix_orders_account_id_test_mode_status", "account_id", "test_mode", "status", "created_at"),
        Index(
            "ix_orders_account_id_test_mode_external_order_id",
            "account_id",
            "test_mode",
            "external_order_id",
            postgresql_where=text("external_order_id IS NOT NULL"),
        ),
        Index("ix_orders_account_id_platform_order_id", "account_id", "platform_order_id"),
        Index("ix_orders_status_processing_started_at", "status", "processing_started_at"),
        # The refresh sweep reads the due end of this; orders nobody refreshes are not in it.
        Index(
            "ix_orders_next_refresh_at",
            "next_refresh_at",
            postgresql_where=text("next_refresh_at IS NOT NULL"),
        ),
        # The conversion poller reads the due end of this: orders that could still get a first label.
        Index(
            "ix_orders_conversion_due_at",
            "conversion_due_at",
            postgresql_where=text(
                "aqualine_tracking IS NULL AND convert_tracking IS NOT FALSE AND status IN ("
                "'confirmed', 'purchased', 'warning', 'awaiting_approval', 'payment_revision', "
                "'shipped', 'out_for_delivery')"
            ),
        ),
        # GET /v1/dashboard/tracking-conversions: the converted orders, newest first.
        Index(
            "ix_orders_converted_created_at",
            "account_id",
            "test_mode",
            "created_at",
            "id",
            postgresql_where=text("aqualine_tracking IS NOT NULL"),
        ),
        # One import per retailer order and mode: a concurrent twin waits on this and gets 409.
        Index(
            "uq_orders_imported_platform_order_id",
            "account_id",
            "test_mode",
            "platform_order_id",
            unique=True,
            postgresql_where=text("imported"),
        ),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    test_mode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    retailer: Mapped[str] = mapped_column(String(50), nullable=False)

    platform: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    platform_order_id: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    multi_item: Mapped[bool] = mapped_column(Boolean, nullable=False)
    asin: Mapped[str] = mapped_column(String(10), nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    price_max: Mapped[Decimal | None] = mapped_column(Money)
    product_title: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    # The client's own reference (an eBay order id) and its flat string map; neither is unique.
    external_order_id: Mapped[str | None] = mapped_column(String(100))
    client_metadata: Mapped[dict[str, str] | None] = mapped_column("metadata", JSONB)

    account_email: Mapped[str] = mapped_column(String(320), nullable=False)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    ship_from: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    convert_tracking: Mapped[bool | None] = mapped_column(Boolean)
    auto_subscribe_save: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    subscription_canceled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    gift: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    gifter_name: Mapped[str | None] = mapped_column(String(200))
    gift_message: Mapped[str | None] = mapped_column(Text)

    # What the retailer charged; None until known.
    price: Mapped[Decimal | None] = mapped_column(Money)
    shipping: Mapped[Decimal | None] = mapped_column(Money)
    credit: Mapped[Decimal | None] = mapped_column(Money)
    tax: Mapped[Decimal | None] = mapped_column(Money)
    total: Mapped[Decimal | None] = mapped_column(Money)

    logged_in: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failure_reason_code: Mapped[str] = mapped_column(
        String(64), nullable=False, default="", server_default=""
    )
    notes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    credits_charged: Mapped[int] = mapped_column(nullable=False)

    tracking_number: Mapped[str | None] = mapped_column(String(100))
    carrier: Mapped[str | None] = mapped_column(String(50))
    aqualine_tracking: Mapped[str | None] = mapped_column(String(100))
    # Tracking conversion (conversion/): every label dropped from the order, newest first; when
    # the poller next tries it (None: as soon as it sees it); the last reason it skipped it, so
    # aqualine.skipped fires only when the reason changes; how many mints were tried.
    dropped_aqualine_tracking: Mapped[list[str]] = mapped_column(
        JSONB, nullable=False, default=list, server_default=text("'[]'::jsonb")
    )
    conversion_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    aqualine_skip_reason: Mapped[str | None] = mapped_column(String(64))
    conversion_attempts: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    delivery_photo_url: Mapped[str | None] = mapped_column(Text)
    est_delivery_min: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    est_delivery_max: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Storage keys of the kept copies (storage/); the signed links are built when the order is read.
    invoice_copy: Mapped[str | None] = mapped_column(Text)
    invoice_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    order_html_copy: Mapped[str | None] = mapped_column(Text)
    order_html_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Brought in by POST /v1/order/import rather than placed through a checkout.
    imported: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    # The status refresh (orders/refresh.py): when it is next due (None: never again), how many
    # lookups failed in a row, and the retailer session it uses, sealed (kit/crypto.py).
    next_refresh_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_failures: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    retailer_session: Mapped[str | None] = mapped_column(Text)

    processing_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checkout_attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )

    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", lazy="raise", order_by="OrderItem.position", cascade="all, delete-orphan"
    )


class OrderItem(UUIDPk, Base):
    __tablename__ = "order_items"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False
    )
    position: Mapped[int] = mapped_column(nullable=False)
    asin: Mapped[str] = mapped_column(String(10), nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    # Per-unit cap for multi-item lines; the legacy shape caps the order subtotal instead (orders.price_max).
    price_max: Mapped[Decimal | None] = mapped_column(Money)
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    seller: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")


class OrderEvent(Base):
    """One row per status change; the webhook outbox builds on it."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False
    )
    previous_status: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
