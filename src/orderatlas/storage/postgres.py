"""The copy store in PostgreSQL (table stored_copies): what every API and worker process shares.

It runs every statement on the caller's session, inside the caller's transaction (storage/base.py).
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.models import StoredCopy
from orderatlas.models.base import utcnow
from orderatlas.storage.base import Copy, CopyStore


class PostgresCopyStore(CopyStore):
    async def put(
        self, db: AsyncSession, key: str, content: bytes, content_type: str, expires_at: datetime
    ) -> None:
        values = {"content": content, "content_type": content_type, "expires_at": expires_at}
        stmt = insert(StoredCopy).values(key=key, updated_at=utcnow(), **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[StoredCopy.key], set_={**values, "updated_at": stmt.excluded.updated_at}
        )
        await db.execute(stmt)

    async def get(self, db: AsyncSession, key: str, now: datetime) -> Copy | None:
        row = (
            await db.execute(
                select(
                    StoredCopy.content, StoredCopy.content_type, StoredCopy.expires_at, StoredCopy.updated_at
                ).where(StoredCopy.key == key, StoredCopy.expires_at > now)
            )
        ).one_or_none()
        return None if row is None else Copy(row.content, row.content_type, row.expires_at, row.updated_at)

    async def expire(self, db: AsyncSession, key: str, at: datetime) -> None:
        await db.execute(update(StoredCopy).where(StoredCopy.key == key).values(expires_at=at))

    async def delete(self, db: AsyncSession, keys: Iterable[str]) -> None:
        wanted = list(keys)
        if wanted:
            await db.execute(delete(StoredCopy).where(StoredCopy.key.in_(wanted)))

    async def purge_expired(self, db: AsyncSession, now: datetime) -> int:
        result = await db.execute(delete(StoredCopy).where(StoredCopy.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
