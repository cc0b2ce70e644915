"""Where copies of retailer pages live: a small interface, so an S3-compatible store can replace
the PostgreSQL one (storage/postgres.py) without anything else changing.

A store knows keys, bytes and expiry; nothing about orders. Every method takes the caller's
database session: the PostgreSQL store writes in the caller's transaction, so a copy (its bytes,
its expiry, its deletion) changes exactly when the change that wrote it commits, and a caller
holding an order's lock never needs a second connection. A store outside the database writes its
bytes at once and must bear a rollback: a put under a fresh key is then never linked and expires
like any other, and an expiry or a deletion is best kept beside the key in the caller's database.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

INVOICES = "invoices"
ORDER_PAGES = "tracking"
KINDS = frozenset({INVOICES, ORDER_PAGES})
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Copy:
    content: bytes
    content_type: str
    expires_at: datetime
    updated_at: datetime


class CopyStore(ABC):
    @abstractmethod
    async def put(
        self, db: AsyncSession, key: str, content: bytes, content_type: str, expires_at: datetime
    ) -> None:
        """Write (or overwrite) the copy under `key`."""

    @abstractmethod
    async def get(self, db: AsyncSession, key: str, now: datetime) -> Copy | None:
        """The copy, or None when there is none or it expired before `now`."""

    @abstractmethod
    async def expire(self, db: AsyncSession, key: str, at: datetime) -> None:
        """Move the copy's expiry to `at`; nothing happens when there is no such copy."""

    @abstractmethod
    async def delete(self, db: AsyncSession, keys: Iterable[str]) -> None: ...

    @abstractmethod
    async def purge_expired(self, db: AsyncSession, now: datetime) -> int:
        """Delete every copy that expired before `now`; returns how many."""
