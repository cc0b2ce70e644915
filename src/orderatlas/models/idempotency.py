"""Idempotency keys: the first response to a POST, kept for 24 hours per account and key."""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from orderatlas.models.base import Base, utcnow


class IdempotencyKey(Base):
    """Written in the same transaction as the work it answers for, so it exists only once that work
    has committed; a twin request meanwhile waits on the row's unique index and is told 409."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # "<mode>:<Idempotency-Key>": live and test keys of one account never share a namespace.
    key: Mapped[str] = mapped_column(String(261), primary_key=True)
    # HMAC of method, path and canonical body: comparable, but useless to anyone without the server key.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
