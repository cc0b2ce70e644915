"""The credit ledger: every change of an account's balance is one row here."""

import uuid

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from orderatlas.models.base import Base, CreatedAt, UUIDPk

DEPOSIT = "deposit"
ORDER_DEBIT = "order_debit"
ORDER_REFUND = "order_refund"


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
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    amount: Mapped[int] = mapped_column(nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Kept (not cascaded) when an order is deleted: the money history must survive the order.
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
