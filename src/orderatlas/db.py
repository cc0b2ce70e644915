"""Engine, session factory and the unit of work shared by requests and jobs.

A unit of work commits once at the end and only then sends the jobs queued during it,
so a worker never sees a row that is not there and a rolled-back change never runs.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from orderatlas.jobs import discard_pending_jobs, send_pending_jobs
from orderatlas.observability.metrics import discard_after_commit, run_after_commit

log = logging.getLogger(__name__)


def async_url(url: str) -> str:
    """Accept the usual postgres:// and postgresql:// spellings and pin the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # No pool_pre_ping: it costs a round trip on every checkout from the pool. A connection that
    # PostgreSQL dropped fails the one statement that finds it (SQLAlchemy then discards the whole
    # pool's stale connections); the request answers 503 database_unavailable (errors.py), a job
    # is retried, a client retries with its Idempotency-Key.
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=10)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], redis: ArqRedis | None
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            discard_pending_jobs(session)
            discard_after_commit(session)
            await session.rollback()
            raise
        await session.commit()
    run_after_commit(session)
    try:
        await send_pending_jobs(session, redis)
    except Exception:
        # The change is committed: failing the request now would invite a retry that acts twice.
        # What the lost jobs would have done, the sweeps do (stuck orders, due webhooks).
        log.exception("committed, but queueing its jobs failed; the sweeps will pick the work up")


async def release_connection(session: AsyncSession) -> None:
    """End a transaction that has only read, so its pooled connection is free while the request
    waits on something slow outside (a call to Stripe). The next statement begins a new one."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release_connection() would commit pending changes")
    await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(request.app.state.sessionmaker, request.app.state.redis) as session:
        yield session


# scope="function": commit before the response is sent, so a client never reads ahead of its own write.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
