"""Copies of retailer pages (invoices, order pages) that the service serves itself (storage/postgres.py)."""

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orderatlas.models.base import Base, utcnow


class StoredCopy(Base):
    __tablename__ = "stored_copies"

    # "<kind>/<32 random hex>": the same key is overwritten when an order page is refreshed.
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    # Past this it is not served, and the hourly purge deletes it.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
