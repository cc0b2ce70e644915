"""Rules for serving a kept copy: a valid signature, then a copy that has not expired."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.errors import NotFound
from orderatlas.storage.base import Copy, CopyStore
from orderatlas.storage.links import key_from_link


async def read(
    db: AsyncSession, store: CopyStore, secret_key: str, kind: str, file: str, now: datetime
) -> Copy:
    """Tampered, unknown and expired links all answer the same 404: none of them says which."""
    key = key_from_link(secret_key, kind, file)
    copy = await store.get(db, key, now) if key else None
    if copy is None:
        raise NotFound("no such copy, or it has expired")
    return copy
