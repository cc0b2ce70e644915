"""Applying the Alembic migrations from code, serialised across processes by an advisory lock."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from orderatlas.config import Settings
from orderatlas.db import create_engine

_LOCK_ID = 0x0A71A5  # any constant shared by every OrderAtlas process


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for this source tree, pointed at one database."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "alembic.ini").exists() and (root / "migrations").is_dir():
            config = Config(str(root / "alembic.ini"))
            config.set_main_option("script_location", str(root / "migrations"))
            config.attributes["database_url"] = database_url
            return config
    raise RuntimeError("alembic.ini and migrations/ not found in the working directory or the source tree")


def upgrade(settings: Settings) -> None:
    """Bring the schema to head. Safe when several processes start at once."""
    assert settings.database_url
    config = alembic_config(settings.database_url)

    async def locked_upgrade() -> None:
        engine = create_engine(settings.database_url or "", pool_size=1)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
                try:
                    await asyncio.to_thread(command.upgrade, config, "head")
                finally:
                    await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
        finally:
            await engine.dispose()

    asyncio.run(locked_upgrade())
