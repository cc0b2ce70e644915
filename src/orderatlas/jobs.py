"""Background jobs: "enqueue after commit", below every feature (the worker's registry is worker.py).

Jobs queued during a unit of work are held on the session and sent to Redis only after
the commit succeeds; a rollback drops them.
"""

from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.observability import context

_PENDING = "orderatlas.pending_jobs"


@dataclass(frozen=True)
class QueuedJob:
    function: str
    args: tuple[Any, ...]
    job_id: str | None
    queue: str | None  # None: arq's default queue, the checkout worker's
    log_context: dict[str, str]  # the queuer's request_id, account_id, order_id (observability/context.py)


def enqueue_after_commit(
    session: AsyncSession, function: str, *args: Any, job_id: str | None = None, queue: str | None = None
) -> None:
    queued = QueuedJob(function, args, job_id, queue, context.current())
    session.info.setdefault(_PENDING, []).append(queued)


def discard_pending_jobs(session: AsyncSession) -> None:
    session.info.pop(_PENDING, None)


async def send_pending_jobs(session: AsyncSession, redis: ArqRedis | None) -> None:
    jobs: list[QueuedJob] = session.info.pop(_PENDING, [])
    if jobs and redis is None:
        raise RuntimeError("jobs were queued but no Redis pool is configured")
    for job in jobs:
        assert redis is not None
        await redis.enqueue_job(
            job.function,
            *job.args,
            _job_id=job.job_id,
            _queue_name=job.queue,
            **{context.JOB_KWARG: job.log_context},
        )


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)
