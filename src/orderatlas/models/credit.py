"""The credit ledger (every change of a balance is one row), Stripe top-ups and Stripe's events."""

import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from orderatlas.models.base import Base, CreatedAt, UUIDPk, utcnow

# The ledger's row types; the API's `type` field and filter take exactly these.
TransactionType = Literal[
    "deposit",
    "order_debit",
    "order_refund",
    "conversion_debit",
    "conversion_refund",
    "import_debit",
    "adjustment",
]
TRANSACTION_TYPES: tuple[str, ...] = get_args(TransactionType)
DEPOSIT, ORDER_DEBIT, ORDER_REFUND, CONVERSION_DEBIT, CONVERSION_REFUND, IMPORT_DEBIT, ADJUSTMENT = (
    TRANSACTION_TYPES
)


class CreditTransaction(UUIDPk, CreatedAt, Base):
    __tablename__ = "credit_transactions"
    __table_args__ = (
        # At most one debit and one refund per order, whatever the retries: the database says no twice.
        Index(
            "uq_credit_transactions_order_debit",
            "order_id",
            unique=True,
            postgresql_where=text("type = 'order_debit'"),
        ),
        Index(
            "uq_credit_transactions_order_refund",
            "order_id",
            unique=True,
            postgresql_where=text("type = 'order_refund'"),
        ),
        # One import debit per order. Conversions are charged per label (a dropped label and its
        # successor are two conversions), so their rows are unique per order and label.
        Index(
            f"uq_credit_transactions_{IMPORT_DEBIT}",
            "order_id",
            unique=True,
            postgresql_where=text(f"type = '{IMPORT_DEBIT}'"),
        ),
        *(
            Index(
                f"uq_credit_transactions_{type_}_per_label",
                "order_id",
                "reference",
                unique=True,
                postgresql_where=text(f"type = '{type_}'"),
            )
            for type_ in (CONVERSION_DEBIT, CONVERSION_REFUND)
        ),
        # One deposit per paid top-up, however many of Stripe's events announce it.
        Index(
            "uq_credit_transactions_topup_deposit",
            "topup_id",
            unique=True,
            postgresql_where=text("type = 'deposit'"),
        ),
        Index("ix_credit_transactions_history", "account_id", "test_mode", "seq"),
        # The foreign key's ON DELETE SET NULL (DELETE /v1/order/:id) finds an order's rows here.
        Index("ix_credit_transactions_order_id", "order_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    # Which balance the row moved: test-mode rows never touch the live balance, and back.
    test_mode: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    # Insertion order: newest first and cursor paging need a strict order that timestamps can tie.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), nullable=False, unique=True)
    amount: Mapped[int] = mapped_column(nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Kept (not cascaded) when an order is deleted: the money history must survive the order.
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    topup_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credit_topups.id", ondelete="SET NULL"))
    # What the row pays for within its order, where an order pays more than once: the label number.
    reference: Mapped[str] = mapped_column(String(100), nullable=False, default="", server_default="")


class CreditTopup(UUIDPk, CreatedAt, Base):
    """One Stripe Checkout Session that buys credits, from creation to payment (and any refund)."""

    __tablename__ = "credit_topups"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    test_mode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    credits: Mapped[int] = mapped_column(nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    stripe_session_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Credits already taken back for refunds of this top-up (Stripe reports refunds cumulatively).
    credits_reversed: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")


class StripeEvent(Base):
    """Every verified Stripe event, once by its id. Only what identifies it is kept, not the payload:
    charge objects carry card details (brand, last4, expiry) that have no business here."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    test_mode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    object_id: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )


class StripeHeldRefund(Base):
    """A refund Stripe reported before the payment it refunds was credited (Stripe delivers events
    in any order, and retries after an outage in any order): kept by payment intent until that
    top-up is deposited, then taken back from it in the deposit's transaction."""

    __tablename__ = "stripe_held_refunds"

    payment_intent_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    test_mode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the charge's amount
    amount_refunded: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the running total
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
