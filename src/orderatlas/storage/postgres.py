"""The copy store in PostgreSQL (table stored_copies): what every API and worker process shares."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import StoredCopy
from orderatlas.models.base import utcnow
from orderatlas.storage.base import Copy, CopyStore


class PostgresCopyStore(CopyStore):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def put(self, key: str, content: bytes, content_type: str, expires_at: datetime) -> None:
        values = {"content": content, "content_type": content_type, "expires_at": expires_at}
        stmt = insert(StoredCopy).values(key=key, updated_at=utcnow(), **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[StoredCopy.key], set_={**values, "updated_at": stmt.excluded.updated_at}
        )
        async with self._sessionmaker() as db, db.begin():
            await db.execute(stmt)

    async def get(self, key: str, now: datetime) -> Copy | None:
        async with self._sessionmaker() as db:
            row = (
                await db.execute(select(StoredCopy).where(StoredCopy.key == key, StoredCopy.expires_at > now))
            ).scalar_one_or_none()
        if row is None:
            return None
        return Copy(row.content, row.content_type, row.expires_at, row.updated_at)

    async def expire(self, key: str, at: datetime) -> None:
        async with self._sessionmaker() as db, db.begin():
            await db.execute(update(StoredCopy).where(StoredCopy.key == key).values(expires_at=at))

    async def delete(self, keys: Iterable[str]) -> None:
        wanted = list(keys)
        if wanted:
            async with self._sessionmaker() as db, db.begin():
                await db.execute(delete(StoredCopy).where(StoredCopy.key.in_(wanted)))

    async def purge_expired(self, now: datetime) -> int:
        async with self._sessionmaker() as db, db.begin():
            result = await db.execute(delete(StoredCopy).where(StoredCopy.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
