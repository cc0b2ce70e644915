"""Alembic environment: runs revisions over the async psycopg engine."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from orderatlas.config import settings
from orderatlas.db import create_engine
from orderatlas.models import Base

target_metadata = Base.metadata


def _url() -> str:
    url = context.config.attributes.get("database_url") or settings.database_url
    if not url:
        raise RuntimeError(
            "no database URL: run through `orderatlas migrate`, which starts the embedded default"
        )
    return url


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url(), pool_size=1)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
