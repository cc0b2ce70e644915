"""The sandbox retailer's own order history: every purchase it ever made."""

from decimal import Decimal
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from orderatlas.models.base import Base, CreatedAt, UUIDPk
from orderatlas.models.order import Money


class SandboxPurchase(UUIDPk, CreatedAt, Base):
    __tablename__ = "sandbox_purchases"

    # The buyer account at the retailer and the client reference the checkout carried
    # (our order id), the way a real retailer keeps what it was sent; "" for an order the buyer
    # placed by hand, which the history holds without anyone having checked it out here.
    account_email: Mapped[str] = mapped_column(String(320), index=True, nullable=False)
    order_reference: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    platform: Mapped[str] = mapped_column(String(20), nullable=False)
    platform_order_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    subtotal: Mapped[Decimal] = mapped_column(Money, nullable=False)
