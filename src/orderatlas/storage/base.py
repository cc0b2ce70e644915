"""Where copies of retailer pages live: a small interface, so an S3-compatible store can replace
the PostgreSQL one (storage/postgres.py) without anything else changing.

A store knows keys, bytes and expiry; nothing about orders. It is not part of the caller's
database transaction: a copy written by a change that then rolls back is simply never linked,
and expires like any other.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

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
    async def put(self, key: str, content: bytes, content_type: str, expires_at: datetime) -> None:
        """Write (or overwrite) the copy under `key`."""

    @abstractmethod
    async def get(self, key: str, now: datetime) -> Copy | None:
        """The copy, or None when there is none or it expired before `now`."""

    @abstractmethod
    async def expire(self, key: str, at: datetime) -> None:
        """Move the copy's expiry to `at`; nothing happens when there is no such copy."""

    @abstractmethod
    async def delete(self, keys: Iterable[str]) -> None: ...

    @abstractmethod
    async def purge_expired(self, now: datetime) -> int:
        """Delete every copy that expired before `now`; returns how many."""
